#include "sugar/run_dir/status.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"

namespace sugar::run_dir {
namespace {

constexpr std::array<const char*, 4> kStates{"running", "interrupted", "failed", "finished"};

// "2024-05-01T10:31:30Z" as Unix seconds; nullopt when it is not in that form.
std::optional<double> parse_utc(const std::string& text) {
  std::tm utc{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<double>(timegm(&utc));
}

// The status written by write_last_status() from a signal handler: plain bytes prepared in advance
// (a handler may not allocate), guarded by a flag that is off while they change.
struct LastStatus {
  std::atomic<bool> ready{false};
  char path[4096] = {};
  char temporary[4096 + 32] = {};
  char text[16384] = {};
  size_t size = 0;
};
LastStatus g_last_status;

void prepare_last_status(const std::string& path, const std::string& text) {
  g_last_status.ready = false;
  if (path.empty() || path.size() >= sizeof g_last_status.path || text.size() > sizeof g_last_status.text) return;
  std::memcpy(g_last_status.path, path.c_str(), path.size() + 1);
  // Named like write_file_atomic's temporaries (.status.json.tmp.XXXXXX), so that one left by a death
  // between open and rename is removed by the next resume like theirs.
  const std::filesystem::path target(path);
  std::string name = ".";  // appended piece by piece: operator+ on a literal trips GCC 12's -Wrestrict
  name += target.filename().string();
  name += ".tmp.SIGNAL";
  const std::string temporary = (target.parent_path() / name).string();
  std::memcpy(g_last_status.temporary, temporary.c_str(), temporary.size() + 1);
  std::memcpy(g_last_status.text, text.data(), text.size());
  g_last_status.size = text.size();
  g_last_status.ready = true;
}

}  // namespace

void write_last_status() {
  if (!g_last_status.ready.load()) return;
  const int fd = ::open(g_last_status.temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const bool written = ::write(fd, g_last_status.text, g_last_status.size) == static_cast<ssize_t>(g_last_status.size);
  ::close(fd);
  if (written) ::rename(g_last_status.temporary, g_last_status.path);
  else ::unlink(g_last_status.temporary);
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

bool is_known_state(const std::string& state) {
  return std::find(kStates.begin(), kStates.end(), state) != kStates.end();
}

namespace {

std::optional<nlohmann::json> read_status_json(const std::string& path) {
  return io::read_json_object(path, "a status file");
}

std::string checked_state(const nlohmann::json& j, const std::string& path) {
  SUGAR_CHECK(j.contains("state") && j["state"].is_string(), path, ": 'state' is missing or not a string");
  const std::string state = j["state"].get<std::string>();
  SUGAR_CHECK(is_known_state(state), path, ": unknown state '", state, "' (expected running, interrupted, failed or finished)");
  return state;
}

}  // namespace

std::string read_state(const std::string& path) {
  const std::optional<nlohmann::json> j = read_status_json(path);
  return j ? checked_state(*j, path) : "unknown";
}

std::optional<StatusRecord> read_status(const std::string& path) {
  const std::optional<nlohmann::json> found = read_status_json(path);
  if (!found) return std::nullopt;
  const nlohmann::json& j = *found;
  StatusRecord r;
  r.state = checked_state(j, path);
  auto text = [&](const char* key, std::string* out) {
    SUGAR_CHECK(j.contains(key) && j[key].is_string(), path, ": '", key, "' is missing or not a string");
    *out = j[key].get<std::string>();
  };
  auto count = [&](const char* key, int64_t* out) {
    SUGAR_CHECK(j.contains(key) && j[key].is_number_integer() && j[key].get<int64_t>() >= 0, path, ": '", key,
                "' is missing or not a non-negative whole number");
    *out = j[key].get<int64_t>();
  };
  text("host", &r.host);
  count("pid", &r.pid);
  count("epoch", &r.epoch);
  count("epochs", &r.epochs);
  count("step", &r.step);
  text("started", &r.started);
  text("heartbeat", &r.heartbeat);
  text("message", &r.message);
  if (j.contains("heartbeat_unix")) {
    SUGAR_CHECK(j["heartbeat_unix"].is_number(), path, ": 'heartbeat_unix' is not a number");
    r.heartbeat_unix = j["heartbeat_unix"].get<double>();
  } else {
    const std::optional<double> seconds = parse_utc(r.heartbeat);
    SUGAR_CHECK(seconds.has_value(), path, ": 'heartbeat' is not a UTC time such as 2024-05-01T10:31:30Z: '",
                r.heartbeat, "'");
    r.heartbeat_unix = *seconds;
  }
  return r;
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
    prepare_last_status("", "");  // no run in progress any more: a late second signal writes nothing
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
  nlohmann::json status = {{"state", state_},   {"host", host_name()},          {"pid", static_cast<int64_t>(::getpid())},
                           {"epoch", epoch_},   {"epochs", epochs_},            {"step", step_},
                           {"started", started_}, {"heartbeat", utc_timestamp()}, {"heartbeat_unix", unix_now()},
                           {"message", message_}};
  try {
    io::write_file_atomic(path_, status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } catch (const std::exception& e) {
    // A status file that cannot be written must not kill a long run; say so and go on.
    spdlog::warn("{}", e.what());
  }
  if (state_ == "running") {
    status["state"] = "interrupted";
    status["message"] = "stopped at once by a second stop signal; --resume continues from last.safetensors if one "
                        "was written";
    prepare_last_status(path_, status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } else {
    prepare_last_status("", "");  // a final state stays as it is
  }
}

void RunStatus::heartbeat_loop(std::chrono::seconds interval) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
    write_locked();
  }
}

}  // namespace sugar::run_dir
