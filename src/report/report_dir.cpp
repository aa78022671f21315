#include "sugar/report/report_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"

namespace sugar::report {
namespace fs = std::filesystem;
namespace {

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// A manifest line is trusted only as a plain file name in the folder (never a path elsewhere).
bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

ReportDir::ReportDir(std::string dir) : dir_(std::move(dir)) {
  std::error_code error;
  if (fs::exists(dir_, error) && !fs::is_directory(dir_, error))
    throw Error("report --out: '" + dir_ + "' exists and is not a folder", ErrorKind::usage);
  fs::create_directories(dir_, error);
  if (error) throw Error("report --out: cannot create '" + dir_ + "': " + error.message(), ErrorKind::runtime);
  const fs::path manifest = fs::path(dir_) / kManifestFile;
  if (fs::exists(manifest)) {
    std::istringstream lines(io::read_file(manifest.string()));
    std::string line;
    while (std::getline(lines, line))
      if (plain_name(line)) previous_.push_back(line);
    return;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_)) {
    throw Error("report --out: '" + dir_ + "' already holds files that are not a Sugar report (" +
                    entry.path().filename().string() + "); choose a new or empty folder",
                ErrorKind::usage);
  }
  write_manifest(previous_);  // from now on the folder is a report's, even if this one stops half-way
}

void ReportDir::write_manifest(const std::vector<std::string>& names) const {
  std::string manifest;
  for (const std::string& name : names) manifest += name + "\n";
  io::write_file_atomic((fs::path(dir_) / kManifestFile).string(), manifest);
}

std::string ReportDir::claim(const std::string& name) {
  const fs::path path = fs::path(dir_) / name;
  if (fs::exists(path) && !contains(previous_, name) && !contains(written_, name))
    throw Error("report: " + path.string() + " exists and was not written by a report; not replacing it",
                ErrorKind::runtime);
  if (!contains(written_, name)) {
    written_.push_back(name);
    // Until finish(), the manifest lists the old report's files and the new ones, so an interrupted
    // report leaves nothing that a rerun would take for someone else's file.
    std::vector<std::string> all = previous_;
    for (const std::string& n : written_)
      if (!contains(all, n)) all.push_back(n);
    write_manifest(all);
  }
  return path.string();
}

void ReportDir::write(const std::string& name, const std::string& bytes) { io::write_file_atomic(claim(name), bytes); }

void ReportDir::finish() {
  write_manifest(written_);
  for (const std::string& name : previous_) {
    if (contains(written_, name)) continue;
    std::error_code error;
    const fs::path path = fs::path(dir_) / name;
    if (fs::is_regular_file(path, error)) fs::remove(path, error);
  }
}

}  // namespace sugar::report
