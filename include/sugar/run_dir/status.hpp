#pragma once
// status.json: what a run is doing now, for people and scripts watching a runs/ folder.
//
//   {"state": "running", "host": "box", "pid": 4242, "epoch": 3, "epochs": 200, "step": 1173,
//    "started": "2024-05-01T10:00:00Z", "heartbeat": "2024-05-01T10:31:30Z",
//    "heartbeat_unix": 1714559490.25, "message": ""}
//
// state is running, interrupted (a stop signal), failed (message says why) or finished. The file is
// rewritten atomically at every change and by a background thread every heartbeat interval, so a
// "running" status whose heartbeat is old means the process died without saying so. A running
// status is also the directory's owner record for processes on other hosts (run_dir/lock.hpp).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include "sugar/clock.hpp"

namespace sugar::run_dir {

// This machine's name, as status.json and lock files record it ("unknown" when the kernel will not say).
std::string host_name();

// What status.json says.
struct StatusRecord {
  std::string state;  // running, interrupted, failed or finished
  std::string host;
  int64_t pid = 0;
  int64_t epoch = 0;   // epochs completed
  int64_t epochs = 0;  // epochs planned
  int64_t step = 0;
  std::string started;
  std::string heartbeat;      // ISO 8601 UTC
  double heartbeat_unix = 0;  // the same in seconds (older files: from `heartbeat`, to the second)
  std::string message;
};

// The states status.json may hold.
bool is_known_state(const std::string& state);

// Reads status.json; nullopt when the file does not exist. A file that is not a status this program
// wrote (not JSON, a field missing or of the wrong type, an unknown state) is a sugar::Error naming the
// path and what is wrong.
std::optional<StatusRecord> read_status(const std::string& path);

// Only the state, for readers that need nothing else (`sugar report`): "unknown" when the file does
// not exist; a file that is not JSON, or whose state is missing or unknown, is a sugar::Error.
std::string read_state(const std::string& path);

// Writes status.json as "interrupted" (message: stopped at once by a second stop signal) for the
// RunStatus that is running in this process, from text it prepared at its last write. Async-signal-
// safe: sugar/signals.hpp calls it before a second stop signal ends the process, so a run killed that
// way is not left looking alive. Does nothing when no run is in progress.
void write_last_status();

class RunStatus {
 public:
  // Writes the first status (state "running") and starts the heartbeat thread.
  RunStatus(std::string path, int64_t epochs, std::chrono::seconds heartbeat = std::chrono::seconds(30));
  ~RunStatus();  // stops the heartbeat; the last written state stays
  RunStatus(const RunStatus&) = delete;
  RunStatus& operator=(const RunStatus&) = delete;

  // Progress: `epoch` epochs completed, `step` optimizer steps done.
  void set_progress(int64_t epoch, int64_t step);
  void set_epochs(int64_t epochs);
  // Final states: "finished", "interrupted", "failed" (with the error message).
  void finish(const std::string& state, const std::string& message = "");
  // Where the status file is.
  const std::string& path() const { return path_; }

 private:
  void write_locked();
  void heartbeat_loop(std::chrono::seconds interval);

  std::string path_;
  std::string started_;
  std::string state_ = "running";
  std::string message_;
  int64_t epoch_ = 0;
  int64_t epochs_ = 0;
  int64_t step_ = 0;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread heartbeat_;
};

}  // namespace sugar::run_dir
