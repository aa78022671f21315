#include "sugar/run_dir/new_run_directory.hpp"

#include "sugar/error.hpp"
#include "sugar/run_dir/layout.hpp"

namespace sugar::run_dir {
namespace {

namespace fs = std::filesystem;

// Whether `dir` holds anything but its lock file.
bool holds_files(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != kLockFile) return true;
  return false;
}

// A run directory's path must fit the file system's limits (NAME_MAX per component, PATH_MAX in all),
// or creating it fails deep inside with "File name too long".
void check_path_length(const std::string& dir) {
  constexpr size_t kMaxComponent = 255, kMaxPath = 4095;
  if (dir.size() > kMaxPath)
    throw Error("run directory: the path has " + std::to_string(dir.size()) + " bytes; at most " +
                    std::to_string(kMaxPath) + " are allowed",
                ErrorKind::usage);
  for (const fs::path& part : fs::path(dir)) {
    if (part.native().size() > kMaxComponent)
      throw Error("run directory: a folder name in the path has " + std::to_string(part.native().size()) +
                      " bytes; at most " + std::to_string(kMaxComponent) + " are allowed (shorten --out or name)",
                  ErrorKind::usage);
  }
}

}  // namespace

NewRunDirectory::NewRunDirectory(const std::string& dir, bool force) : dir_(dir), force_(force) {
  check_path_length(dir);
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(dir, error)) && !fs::exists(dir, error))
    throw Error("run directory " + dir + " is a symbolic link to nothing", ErrorKind::usage);
  if (fs::exists(dir, error) && !fs::is_directory(dir, error))
    throw Error("run directory " + dir + " exists and is not a directory", ErrorKind::usage);
  // Creating it later must not fail on the way: its nearest existing parent must be a directory.
  for (fs::path up = fs::path(dir).parent_path(); !up.empty(); up = up.parent_path()) {
    if (fs::exists(up, error)) {
      if (!fs::is_directory(up, error))
        throw Error("run directory " + dir + ": " + up.string() + " is not a directory", ErrorKind::usage);
      break;
    }
    if (up == up.parent_path()) break;
  }
  if (fs::exists(dir, error)) lock_and_check();
}

void NewRunDirectory::take() {
  if (lock_.held()) return;
  std::error_code error;
  created_ = !fs::exists(dir_, error);
  // The topmost folder this creates, so that abandon() removes all it made (runs/new/a/b).
  for (fs::path up = dir_; created_ && !up.empty() && !fs::exists(up, error); up = up.parent_path()) {
    first_created_ = up;
    if (up == up.parent_path()) break;
  }
  fs::create_directories(dir_, error);
  if (error) throw Error("cannot create the run directory " + dir_ + ": " + error.message());
  lock_and_check();
}

void NewRunDirectory::commit() {
  take();
  if (!force_) return;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.path().filename() != kLockFile) fs::remove_all(entry.path());
}

void NewRunDirectory::discard() {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (name != kLockFile && is_run_file(name)) fs::remove(entry.path(), error);
  }
  abandon();
}

void NewRunDirectory::abandon() {
  lock_.abandon();
  std::error_code error;
  if (!created_) return;
  // Each folder it created, innermost first, and only when empty: someone else's files stay.
  for (fs::path folder = dir_; !folder.empty(); folder = folder.parent_path()) {
    if (!fs::remove(folder, error) || folder == first_created_) break;
  }
}

void NewRunDirectory::lock_and_check() {
  lock_ = RunDirLock::acquire(dir_, "train");
  try {
    check();
  } catch (...) {
    abandon();
    throw;
  }
}

// Refuses an existing run unless --force; with --force, checks that the directory really holds a
// Sugar run and nothing else (deleting a folder given by mistake would be unforgivable).
void NewRunDirectory::check() const {
  if (!holds_files(dir_)) return;
  if (!force_) {
    throw Error("run directory " + dir_ + " already exists; use 'sugar train --resume " + dir_ +
                    "' to continue it, --force to replace it, or --out to choose another",
                ErrorKind::usage);
  }
  if (!looks_like_run(dir_)) {
    throw Error("--force: " + dir_ + " does not look like a Sugar run directory (no " + kConfigFile + ", " +
                    kStatusFile + " or " + kMetricsFile + "); refusing to delete it",
                ErrorKind::usage);
  }
  // --force replaces a run, nothing else: a folder that also holds other files (sources, data, a
  // run's sub-folder) may be a project that happens to have a config.yaml.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (!is_run_file(name) || !entry.is_regular_file()) {
      throw Error("--force: " + dir_ + " holds " + name + ", which is not a file of a Sugar run; refusing to delete " +
                      "it (remove it yourself, or choose another --out)",
                  ErrorKind::usage);
    }
  }
}

}  // namespace sugar::run_dir
