#pragma once
// A temporary directory for a test, removed with everything in it when the object goes out of scope.
// (Older test files each define their own copy of this; new ones use this one.)
#include <unistd.h>

#include <filesystem>
#include <string>

namespace sugar::testkit {

class TempDir {
 public:
  // mkdtemp under the system's temporary directory, named sugar-<prefix>-XXXXXX.
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / ("sugar-" + prefix + "-XXXXXX")).string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

 private:
  std::string path_;
};

}  // namespace sugar::testkit
