#pragma once
// One owner for a run directory's whole life. Whatever writes a run directory (a fresh `sugar train`,
// `--resume`, a sweep cell's training, rank 0 under mpirun) first takes its lock; a second writer is
// refused with one line naming the owner's pid and host. Readers (`sugar report`, `sugar eval`) never
// take it.
//
// Two mechanisms, because run directories live on local disks and on cluster file systems:
//
//  - A kernel lock: an open-file-description lock (fcntl F_OFD_SETLK, write lock on the whole file) on
//    <dir>/.lock. It excludes every other process on this host (and on other hosts where the file
//    system forwards locks, as NFSv4 does), and the kernel drops it when its holder dies however it
//    dies, so a killed run never leaves a lock behind. The lock is not waited for: a busy directory is
//    refused at once.
//  - The owner record: status.json says "running" with the owner's host, pid and a heartbeat refreshed
//    every 30 s. A file system that does not forward locks lets a process on another host take the
//    kernel lock while the owner still runs; the record stops it: a running status from another host
//    whose heartbeat is younger than `stale_after` (10 minutes, as sweep claims) refuses the directory.
//    Once the heartbeat is older, its host is taken to have crashed and the directory may be taken
//    over, as a stale sweep claim is. On this host, the kernel lock alone decides (a running status
//    left by a process that died is just history).
//
// The lock file holds one line naming its holder ({"pid": ..., "host": ..., "since": ..., "purpose": ...}),
// written as soon as the lock is taken: the kernel does not say which process holds an OFD lock, and
// the refused process names it from there. A command that fails before it changes anything puts the
// previous line back (content and modification time) or removes the file it created (abandon()).
//
// The lock file is locked after it is opened and checked to still be the file at <dir>/.lock, so a
// process that removed the file (a failed fresh run removing the directory it had created) cannot
// leave two processes holding locks on two different files.
#include <chrono>
#include <ctime>
#include <string>

namespace sugar::run_dir {

struct LockOptions {
  std::chrono::milliseconds stale_after{std::chrono::minutes(10)};
  std::string host;  // default: this host's name (tests pretend to be another host)
};

class RunDirLock {
 public:
  // Takes the lock of the existing directory `dir`, creating <dir>/.lock when it is missing. Throws
  // sugar::Error (runtime) "run directory D is in use by pid P on host H (...)" when another process
  // owns it. `purpose` ("train", "--resume", "--force") starts messages.
  static RunDirLock acquire(const std::string& dir, const std::string& purpose, const LockOptions& options = {});

  RunDirLock() = default;
  RunDirLock(RunDirLock&& other) noexcept;
  RunDirLock& operator=(RunDirLock&& other) noexcept;
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  ~RunDirLock();  // unlocks (closing the descriptor drops the kernel lock)

  bool held() const { return fd_ >= 0; }
  // Whether acquire created <dir>/.lock (a run directory written before locks existed has none).
  bool created_lock_file() const { return created_; }
  // Undoes acquire for a command that failed before it changed anything: removes <dir>/.lock when
  // acquire created it, then unlocks, so the directory is byte-for-byte as it was.
  void abandon();
  const std::string& dir() const { return dir_; }

 private:
  int fd_ = -1;
  bool created_ = false;
  bool wrote_holder_ = false;  // the holder line replaced previous_content_
  std::string dir_;
  std::string previous_content_;  // the lock file before acquire wrote its holder line
  struct timespec previous_times_[2] = {};  // its access and modification times
  struct timespec directory_times_[2] = {};  // the directory's, before acquire created the lock file
};

}  // namespace sugar::run_dir
