#pragma once
// status.json: what a run is doing now, for people and scripts watching a runs/ folder.
//
//   {"state": "running", "host": "box", "pid": 4242, "epoch": 3, "epochs": 200, "step": 1173,
//    "started": "2024-05-01T10:00:00Z", "heartbeat": "2024-05-01T10:31:30Z", "message": ""}
//
// state is running, interrupted (SIGINT/SIGTERM), failed (message says why) or finished. The file is
// rewritten atomically at every change and by a background thread every heartbeat interval, so a
// "running" status whose heartbeat is old means the process died without saying so.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sugar::train {

// The local time as ISO 8601 UTC: "2024-05-01T10:31:30Z".
std::string utc_timestamp();
std::string host_name();

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

}  // namespace sugar::train
