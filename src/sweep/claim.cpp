#include "sugar/sweep/claim.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/clock.hpp"

namespace sugar::sweep {
namespace {

namespace fs = std::filesystem;

// stat(2) that says "absent" for a missing file and throws for anything else going wrong.
bool file_exists(const std::string& path, struct stat* info = nullptr) {
  struct stat scratch {};
  if (::stat(path.c_str(), info != nullptr ? info : &scratch) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error("sweep: cannot look at " + path + ": " + std::strerror(errno));
}

std::string random_hex() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

nlohmann::json to_json(const ClaimRecord& r) {
  return {{"cell", r.cell},         {"generation", r.generation},
          {"state", r.state},       {"host", r.host},
          {"pid", r.pid},           {"token", r.token},
          {"claimed", r.claimed},   {"heartbeat", r.heartbeat},
          {"heartbeat_unix", r.heartbeat_unix}, {"taken_over_from", r.taken_over_from},
          {"outcome", r.outcome}};
}

}  // namespace

std::string ClaimRecord::holder() const { return host + " pid " + std::to_string(pid); }

// ---- Claim ------------------------------------------------------------------------------------

Claim::Claim(Claim&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), record_(std::move(other.record_)), path_(std::move(other.path_)) {}

Claim& Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    if (held()) {
      try {
        release("abandoned");
      } catch (...) {
      }
    }
    store_ = std::exchange(other.store_, nullptr);
    record_ = std::move(other.record_);
    path_ = std::move(other.path_);
  }
  return *this;
}

Claim::~Claim() {
  if (!held()) return;
  try {
    release("abandoned");
  } catch (...) {
    // A destructor cannot report; the claim goes stale and is taken over later.
  }
}

bool Claim::refresh() {
  if (!held()) return false;
  if (file_exists(store_->claim_path(record_.cell, record_.generation + 1))) {
    store_ = nullptr;
    return false;
  }
  record_ = store_->stamped(record_);
  store_->write(record_);
  return true;
}

void Claim::release(const std::string& outcome) {
  if (!held()) return;
  const ClaimStore* store = std::exchange(store_, nullptr);
  // A newer generation means someone took over: the file is history, leave it as it was.
  if (file_exists(store->claim_path(record_.cell, record_.generation + 1))) return;
  record_.state = "released";
  record_.outcome = outcome;
  record_ = store->stamped(record_);
  store->write(record_);
}

// ---- ClaimStore -------------------------------------------------------------------------------

ClaimStore::ClaimStore(std::string dir, ClaimOptions options) : dir_(std::move(dir)), options_(std::move(options)) {
  if (options_.host.empty()) options_.host = run_dir::host_name();
  if (options_.pid == 0) options_.pid = static_cast<int64_t>(::getpid());
  if (!options_.clock) options_.clock = unix_now;
  SUGAR_CHECK(options_.stale_after.count() > 0, "sweep: the stale-claim threshold must be positive, got ",
              options_.stale_after.count(), " ms");
}

std::string ClaimStore::claim_path(const std::string& cell, uint64_t generation) const {
  return (fs::path(dir_) / (cell + "." + std::to_string(generation) + ".claim")).string();
}

std::chrono::milliseconds ClaimStore::refresh_interval() const {
  return std::clamp(options_.stale_after / 10, std::chrono::milliseconds(50), std::chrono::milliseconds(60000));
}

bool ClaimStore::is_stale(const ClaimRecord& record) const {
  if (record.state != "held") return false;
  // A holder on this host that no longer exists (killed outright) needs no waiting for.
  if (record.host == options_.host && record.pid > 0 && ::kill(static_cast<pid_t>(record.pid), 0) != 0 && errno == ESRCH)
    return true;
  const double age = options_.clock() - record.heartbeat_unix;
  return age * 1000.0 > static_cast<double>(options_.stale_after.count());
}

ClaimRecord ClaimStore::stamped(ClaimRecord record) const {
  record.heartbeat_unix = options_.clock();
  record.heartbeat = utc_timestamp(record.heartbeat_unix);
  return record;
}

std::optional<ClaimRecord> ClaimStore::read(const std::string& cell, uint64_t generation) const {
  const std::string path = claim_path(cell, generation);
  struct stat info {};
  if (!file_exists(path, &info)) return std::nullopt;
  ClaimRecord r;
  r.cell = cell;
  r.generation = generation;
  try {
    const nlohmann::json j = io::parse_json(io::read_file(path));
    r.state = j.at("state").get<std::string>();
    r.host = j.value("host", "unknown");
    r.pid = j.value("pid", int64_t{0});
    r.token = j.value("token", "");
    r.claimed = j.value("claimed", "");
    r.heartbeat = j.value("heartbeat", "");
    r.heartbeat_unix = j.at("heartbeat_unix").get<double>();
    r.taken_over_from = j.value("taken_over_from", "");
    r.outcome = j.value("outcome", "");
  } catch (const std::exception&) {
    // Not written by a sweep (or damaged by hand): a claim by nobody known, as old as the file.
    r = ClaimRecord{};
    r.cell = cell;
    r.generation = generation;
    r.state = "held";
    r.host = "unknown";
    r.heartbeat_unix = static_cast<double>(info.st_mtim.tv_sec) + 1e-9 * static_cast<double>(info.st_mtim.tv_nsec);
    r.heartbeat = utc_timestamp(r.heartbeat_unix);
  }
  return r;
}

void ClaimStore::write(const ClaimRecord& record) const {
  io::write_file_atomic(claim_path(record.cell, record.generation), to_json(record).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::optional<ClaimRecord> ClaimStore::current(const std::string& cell) const {
  std::optional<ClaimRecord> newest;
  for (uint64_t g = 0;; ++g) {
    std::optional<ClaimRecord> record = read(cell, g);
    if (!record) return newest;
    newest = std::move(record);
  }
}

ClaimAttempt ClaimStore::try_claim(const std::string& cell) const {
  ClaimAttempt attempt;
  std::optional<ClaimRecord> previous;
  uint64_t generation = 0;
  const std::string token = options_.host + "-" + std::to_string(options_.pid) + "-" + random_hex();
  std::error_code error;
  fs::create_directories(dir_, error);
  SUGAR_CHECK(!error, "sweep: cannot create the claims directory ", dir_, ": ", error.message());
  for (;;) {
    // Walk up to the first free generation; the one below it says whether the cell is free.
    while (std::optional<ClaimRecord> record = read(cell, generation)) {
      previous = std::move(record);
      ++generation;
    }
    if (previous && is_live(*previous)) {
      attempt.holder = previous;
      return attempt;
    }
    ClaimRecord mine;
    mine.cell = cell;
    mine.generation = generation;
    mine.state = "held";
    mine.host = options_.host;
    mine.pid = options_.pid;
    mine.token = token;
    mine = stamped(mine);
    mine.claimed = mine.heartbeat;
    if (previous && previous->state == "held") {
      mine.taken_over_from = previous->holder() + " (heartbeat " + previous->heartbeat + ")";
    }
    // The content is complete and synced before the claim's name appears (link), so no reader ever
    // sees a partial claim.
    const std::string staging = (fs::path(dir_) / (".new-" + token + "-" + std::to_string(generation))).string();
    const std::string target = claim_path(cell, generation);
    io::write_file_atomic(staging, to_json(mine).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    bool linked = ::link(staging.c_str(), target.c_str()) == 0;
    const int link_errno = errno;
    if (!linked) {
      // NFS may report a failure when only the reply was lost; the staging file's link count says
      // whether the link exists (the check open(2) recommends for lock files on NFS).
      struct stat info {};
      linked = ::stat(staging.c_str(), &info) == 0 && info.st_nlink == 2;
    }
    ::unlink(staging.c_str());
    if (linked) {
      if (previous && previous->state == "held") attempt.taken_over = previous;
      attempt.claim.store_ = this;
      attempt.claim.record_ = std::move(mine);
      attempt.claim.path_ = target;
      return attempt;
    }
    if (link_errno != EEXIST) {
      throw Error("sweep: cannot create the claim " + target + ": " + std::strerror(link_errno));
    }
    // Another process created this generation first: look again from there.
  }
}

}  // namespace sugar::sweep
