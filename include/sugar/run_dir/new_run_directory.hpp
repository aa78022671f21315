#pragma once
// The directory a fresh `sugar train` writes, from its checks until the run ends.
//
// An existing directory is locked (run_dir/lock.hpp) and checked at once, so refusing it costs no
// data loading: a directory holding a run is refused unless --force, and --force replaces only a
// directory that holds nothing but a Sugar run's own files. A new directory is created only by take(),
// once the session is built, so a run that fails to start (on any rank: under mpirun the others are
// aborted, with no chance to clean up) creates nothing. abandon() undoes what taking it did (the
// folders it created, the lock file), so a failed start leaves nothing behind; discard() also removes
// the run files written after commit().
#include <filesystem>
#include <string>

#include "sugar/run_dir/lock.hpp"

namespace sugar::run_dir {

class NewRunDirectory {
 public:
  // Checks the path (length, a dangling link, a parent that is a file: usage errors) and, when the
  // directory exists, locks and checks it.
  NewRunDirectory(const std::string& dir, bool force);

  // Creates the directory when it did not exist, and locks it. Another process may have taken it
  // meanwhile: then this one is refused as at the start.
  void take();
  // take(), then empties a directory replaced with --force (all but the lock: it stays held). The
  // first write.
  void commit();
  // After commit(), when writing the run's first files failed (a full disk): removes what was
  // written, so that the directory does not block the next attempt, then abandons it.
  void discard();
  void abandon();

 private:
  void lock_and_check();
  void check() const;

  std::string dir_;
  bool force_;
  bool created_ = false;
  std::filesystem::path first_created_;  // the topmost folder take() created
  RunDirLock lock_;
};

}  // namespace sugar::run_dir
