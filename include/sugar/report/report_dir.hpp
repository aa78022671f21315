#pragma once
// The --out folder of `sugar report`. A report never overwrites a file it did not write: the folder
// must be new, empty, or hold a previous report, recognised by its manifest (.sugar-report, the
// names of the files that report wrote). Rewriting a report replaces those files and removes the
// ones the new report no longer has (plots of configurations that are gone); other files in the
// folder are left alone, and a new report file whose name is taken by such a file is an error.
#include <string>
#include <vector>

namespace sugar::report {

inline constexpr const char* kManifestFile = ".sugar-report";

class ReportDir {
 public:
  // Creates `dir` or checks that it may be written to (usage error otherwise).
  explicit ReportDir(std::string dir);

  // Writes `name` (a plain file name) atomically; error if it would replace a file no report wrote.
  void write(const std::string& name, const std::string& bytes);
  // The path to write `name` to with another writer (the plots); the same check as write().
  std::string claim(const std::string& name);
  // Writes the manifest and removes the previous report's files that were not written again.
  void finish();

  const std::string& dir() const { return dir_; }

 private:
  void write_manifest(const std::vector<std::string>& names) const;

  std::string dir_;
  std::vector<std::string> previous_;  // files of the previous report
  std::vector<std::string> written_;
};

}  // namespace sugar::report
