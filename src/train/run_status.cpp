#include "sugar/train/run_status.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "sugar/io/atomic_file.hpp"

namespace sugar::train {

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

RunStatus::RunStatus(std::string path, int64_t epochs, std::chrono::seconds heartbeat)
    : path_(std::move(path)), started_(utc_timestamp()), epochs_(epochs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    write_locked();
  }
  heartbeat_ = std::thread([this, heartbeat] { heartbeat_loop(heartbeat); });
}

RunStatus::~RunStatus() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void RunStatus::set_progress(int64_t epoch, int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  epoch_ = epoch;
  step_ = step;
  write_locked();
}

void RunStatus::set_epochs(int64_t epochs) {
  std::lock_guard<std::mutex> lock(mutex_);
  epochs_ = epochs;
  write_locked();
}

void RunStatus::finish(const std::string& state, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = state;
  message_ = message;
  stopping_ = true;
  write_locked();
  wake_.notify_all();
}

void RunStatus::write_locked() {
  const nlohmann::json status = {{"state", state_},   {"host", host_name()},          {"pid", static_cast<int64_t>(::getpid())},
                                 {"epoch", epoch_},   {"epochs", epochs_},            {"step", step_},
                                 {"started", started_}, {"heartbeat", utc_timestamp()}, {"message", message_}};
  try {
    io::write_file_atomic(path_, status.dump(2) + "\n");
  } catch (const std::exception& e) {
    // A status file that cannot be written must not kill a long run; say so and go on.
    spdlog::warn("{}", e.what());
  }
}

void RunStatus::heartbeat_loop(std::chrono::seconds interval) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
    write_locked();
  }
}

}  // namespace sugar::train
