#include "sugar/run_dir/layout.hpp"

#include <filesystem>

namespace sugar::run_dir {

std::string path_in(const std::string& dir, const char* file) { return (std::filesystem::path(dir) / file).string(); }

bool is_run_file(const std::string& name) {
  for (const char* file : {kConfigFile, kMetricsFile, kNeuronsFile, kLogFile, kLastCheckpoint, kBestCheckpoint,
                           kStatusFile, kRunInfoFile, kLockFile}) {
    if (name == file) return true;
    const std::string temporary_prefix = std::string(".") + file + ".tmp.";
    if (name.size() > temporary_prefix.size() && name.compare(0, temporary_prefix.size(), temporary_prefix) == 0)
      return true;
  }
  return false;
}

bool looks_like_run(const std::string& dir) {
  std::error_code error;
  for (const char* file : {kConfigFile, kStatusFile, kMetricsFile})
    if (std::filesystem::exists(path_in(dir, file), error)) return true;
  return false;
}

}  // namespace sugar::run_dir
