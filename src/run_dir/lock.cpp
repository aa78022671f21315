#include "sugar/run_dir/lock.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/status.hpp"

namespace sugar::run_dir {
namespace {

// A holder line is about 200 bytes; anything much larger was not written by Sugar.
constexpr size_t kMaxLockFileBytes = 4096;

std::string errno_text(int error) { return std::strerror(error); }

// The whole (small) lock file, read through its descriptor.
std::string read_lock_file(int fd, const std::string& path, const std::string& purpose) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error(purpose + ": cannot look at " + path + ": " + errno_text(errno));
  if (static_cast<size_t>(info.st_size) > kMaxLockFileBytes) {
    throw Error(purpose + ": " + path + " is not a Sugar lock file (" + std::to_string(info.st_size) +
                " bytes; a lock file holds one short line)");
  }
  std::string content(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::pread(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  content.resize(done);
  return content;
}

void write_lock_file(int fd, const std::string& content) {
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::pwrite(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the holder line is for messages only; the lock itself is what excludes
    done += static_cast<size_t>(n);
  }
  [[maybe_unused]] const int ignored = ::ftruncate(fd, static_cast<off_t>(content.size()));
}

// What a holder line says: its pid and host, and "pid 4242 on host box (sugar train, since ...)".
struct HolderLine {
  int64_t pid = 0;
  std::string host;
  std::string text;
};

// nullopt for a line that does not parse.
std::optional<HolderLine> parse_holder(const std::string& content) {
  try {
    const nlohmann::json j = io::parse_json(content);
    HolderLine holder{j.at("pid").get<int64_t>(), j.at("host").get<std::string>(), ""};
    holder.text = "pid " + std::to_string(holder.pid) + " on host " + holder.host;
    const std::string purpose = j.value("purpose", "");
    const std::string since = j.value("since", "");
    if (!purpose.empty() || !since.empty()) holder.text += " (" + purpose + (since.empty() ? "" : ", since " + since) + ")";
    return holder;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A line naming a process of this host that no longer exists was left by an earlier holder (a run
// that ended, or one that was killed); the present holder has not written its own line yet.
bool names_an_ended_process_here(const HolderLine& holder, const std::string& host) {
  if (holder.host != host || holder.pid <= 0 || holder.pid > std::numeric_limits<pid_t>::max()) return false;
  return ::kill(static_cast<pid_t>(holder.pid), 0) != 0 && errno == ESRCH;
}

// Who holds the lock. The holder writes its line just after taking the lock, so a process that lost
// the race by microseconds can find the file empty, or still holding the line of the run before
// (seen in CI: a --resume losing to a --force named the finished run that --force replaced): the
// line is read again for up to 0.5 s before the message gives up naming the holder.
std::string describe_holder(int fd, const std::string& path, const std::string& purpose, const std::string& host) {
  for (int attempt = 0; attempt < 25; ++attempt) {
    const auto holder = parse_holder(read_lock_file(fd, path, purpose));
    if (holder && !names_an_ended_process_here(*holder, host)) return holder->text;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "another process (its lock file does not say which)";
}

// A running status.json written on another host whose heartbeat is fresh: a live owner there.
void refuse_live_owner_elsewhere(const std::string& dir, const std::string& purpose, const std::string& host,
                                 const LockOptions& options) {
  std::optional<StatusRecord> status;
  try {
    status = read_status(path_in(dir, kStatusFile));
  } catch (const Error&) {
    return;  // no owner record to honour; resume's validation reports a damaged status.json itself
  }
  if (!status || status->state != "running" || status->host == host) return;
  const double age = unix_now() - status->heartbeat_unix;
  const double stale_seconds = std::chrono::duration<double>(options.stale_after).count();
  if (age < -stale_seconds) {
    // A heartbeat from the future (clocks far apart, or a hand-made file) would otherwise lock the
    // directory forever.
    spdlog::warn("{}: taking over {}: status.json says running on host {} (pid {}), with a heartbeat {:.0f} s in the "
                 "future", purpose, dir, status->host, status->pid, -age);
    return;
  }
  if (age > stale_seconds) {
    spdlog::warn("{}: taking over {}: status.json says running on host {} (pid {}), but its heartbeat is {:.0f} s old",
                 purpose, dir, status->host, status->pid, age);
    return;
  }
  throw Error(purpose + ": run directory " + dir + " is in use by pid " + std::to_string(status->pid) + " on host " +
              status->host + " (status.json heartbeat " + status->heartbeat + "); it may be taken over once the "
              "heartbeat is " + std::to_string(static_cast<int64_t>(std::ceil(stale_seconds))) + " s old");
}

}  // namespace

RunDirLock RunDirLock::acquire(const std::string& dir, const std::string& purpose, const LockOptions& options) {
  const std::string path = path_in(dir, kLockFile);
  const std::string host = options.host.empty() ? host_name() : options.host;
  // A few rounds: each ends early only when another process removed or replaced the file meanwhile.
  for (int round = 0; round < 16; ++round) {
    RunDirLock lock;
    lock.dir_ = dir;
    lock.created_ = true;
    struct stat directory {};
    if (::stat(dir.c_str(), &directory) == 0) {
      lock.directory_times_[0] = directory.st_atim;
      lock.directory_times_[1] = directory.st_mtim;
    }
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && errno == EEXIST) {
      lock.created_ = false;
      fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0 && errno == ENOENT) continue;
    }
    if (fd < 0) throw Error(purpose + ": cannot open the lock file " + path + ": " + errno_text(errno));
    lock.fd_ = fd;  // closed by lock's destructor from here on
    struct stat opened {};
    if (::fstat(fd, &opened) != 0) throw Error(purpose + ": cannot look at " + path + ": " + errno_text(errno));
    if (!S_ISREG(opened.st_mode)) throw Error(purpose + ": " + path + " is not a regular file");

    struct flock whole_file {};
    whole_file.l_type = F_WRLCK;
    whole_file.l_whence = SEEK_SET;
    if (::fcntl(fd, F_OFD_SETLK, &whole_file) != 0) {
      const int error = errno;
      if (error == EAGAIN || error == EACCES) {
        const std::string holder = describe_holder(fd, path, purpose, host);
        lock.created_ = false;  // the file is the holder's now
        throw Error(purpose + ": run directory " + dir + " is in use by " + holder + "; wait for it to end or stop it");
      }
      if (error != ENOLCK) throw Error(purpose + ": cannot lock " + path + ": " + errno_text(error));
      spdlog::warn("{}: the file system of {} does not support locks; only status.json's heartbeat guards it", purpose, dir);
    }
    // Still the file at `path`? Another process may have removed it between our open and our lock.
    struct stat now {};
    if (::stat(path.c_str(), &now) != 0 || now.st_ino != opened.st_ino || now.st_dev != opened.st_dev) {
      lock.created_ = false;  // not ours to remove
      continue;
    }
    try {
      refuse_live_owner_elsewhere(dir, purpose, host, options);
    } catch (...) {
      lock.abandon();
      throw;
    }

    lock.previous_content_ = read_lock_file(fd, path, purpose);
    lock.previous_times_[0] = opened.st_atim;
    lock.previous_times_[1] = opened.st_mtim;
    const nlohmann::json holder = {{"pid", static_cast<int64_t>(::getpid())}, {"host", host},
                                   {"since", utc_timestamp()}, {"purpose", purpose}};
    write_lock_file(fd, holder.dump() + "\n");
    lock.wrote_holder_ = true;
    return lock;
  }
  throw Error(purpose + ": cannot lock " + path + ": the file keeps being removed by another process");
}

RunDirLock::RunDirLock(RunDirLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      created_(other.created_),
      wrote_holder_(other.wrote_holder_),
      dir_(std::move(other.dir_)),
      previous_content_(std::move(other.previous_content_)) {
  for (int i = 0; i < 2; ++i) {
    previous_times_[i] = other.previous_times_[i];
    directory_times_[i] = other.directory_times_[i];
  }
}

RunDirLock& RunDirLock::operator=(RunDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    created_ = other.created_;
    wrote_holder_ = other.wrote_holder_;
    dir_ = std::move(other.dir_);
    previous_content_ = std::move(other.previous_content_);
    for (int i = 0; i < 2; ++i) {
      previous_times_[i] = other.previous_times_[i];
      directory_times_[i] = other.directory_times_[i];
    }
  }
  return *this;
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

void RunDirLock::abandon() {
  if (fd_ < 0) return;
  if (created_) {
    ::unlink(path_in(dir_, kLockFile).c_str());  // while still holding the lock: no one can be inside
    ::utimensat(AT_FDCWD, dir_.c_str(), directory_times_, 0);  // the directory's times as they were
  } else if (wrote_holder_) {
    write_lock_file(fd_, previous_content_);
    ::futimens(fd_, previous_times_);
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace sugar::run_dir
