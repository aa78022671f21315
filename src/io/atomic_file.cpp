#include "sugar/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sugar/error.hpp"
#include "sugar/io/regular_file.hpp"

namespace sugar::io {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Makes the rename durable: fsync the directory holding the file. Best effort (some filesystems
// refuse fsync on directories); the file content itself was already synced.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// The temporary files being written right now, for remove_files_being_written(), which runs in a
// signal handler: fixed slots of plain bytes, published and retired with atomic flags (no malloc).
struct WriteSlot {
  std::atomic<bool> taken{false};
  std::atomic<bool> ready{false};
  char path[4096] = {};
};
std::array<WriteSlot, 16> g_writes;

// Registers `path` for its lifetime (best effort: a path too long or all slots busy is not registered).
class RegisteredWrite {
 public:
  explicit RegisteredWrite(const std::string& path) {
    if (path.size() >= sizeof(WriteSlot::path)) return;
    for (WriteSlot& slot : g_writes) {
      bool free = false;
      if (!slot.taken.compare_exchange_strong(free, true)) continue;
      std::memcpy(slot.path, path.c_str(), path.size() + 1);
      slot.ready = true;
      slot_ = &slot;
      return;
    }
  }
  ~RegisteredWrite() {
    if (slot_ == nullptr) return;
    slot_->ready = false;
    slot_->taken = false;
  }
  RegisteredWrite(const RegisteredWrite&) = delete;
  RegisteredWrite& operator=(const RegisteredWrite&) = delete;

 private:
  WriteSlot* slot_ = nullptr;
};

}  // namespace

void remove_files_being_written() {
  for (WriteSlot& slot : g_writes)
    if (slot.ready.load()) ::unlink(slot.path);
}

void write_all(std::FILE* file, const void* data, size_t bytes, const std::string& path) {
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file) != bytes) {
    throw Error("cannot write " + path + ": " + errno_text());
  }
}

void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& fill) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.parent_path();
  // mkstemp gives a unique name, so two writers of the same target never share a temporary file.
  std::string hidden_name = target.filename().string();
  hidden_name.insert(0, 1, '.');
  hidden_name += ".tmp.XXXXXX";
  std::string tmpl = (dir / hidden_name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw Error("cannot create a temporary file for " + path + " (" + tmpl + "): " + errno_text());
  const RegisteredWrite in_flight(tmpl);
  std::FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    const std::string why = errno_text();
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw Error("cannot open a temporary file for " + path + ": " + why);
  }
  try {
    fill(file);
    if (std::fflush(file) != 0) throw Error("cannot write " + path + ": " + errno_text());
    if (::fsync(::fileno(file)) != 0) throw Error("cannot sync " + path + " to disk: " + errno_text());
  } catch (...) {
    std::fclose(file);
    ::unlink(tmpl.c_str());
    throw;
  }
  if (std::fclose(file) != 0) {
    const std::string why = errno_text();
    ::unlink(tmpl.c_str());
    throw Error("cannot close " + path + ": " + why);
  }
  // mkstemp creates the file 0600; give it the usual permissions of a new file (0666 & ~umask).
  // The umask is read once: reading it means setting it, and two threads writing files at once (the
  // heartbeat's status.json, a checkpoint) could otherwise leave it at 0 for good.
  static const mode_t mask = [] {
    const mode_t current = ::umask(0);
    ::umask(current);
    return current;
  }();
  ::chmod(tmpl.c_str(), 0666 & ~mask);
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmpl.c_str());
    throw Error("cannot rename " + tmpl + " to " + path + ": " + why);
  }
  sync_directory(dir);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path, [&](std::FILE* file) { write_all(file, bytes.data(), bytes.size(), path); });
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  constexpr std::string_view kMarker = ".tmp.";  // then mkstemp's six characters
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name.size() > 1 + kMarker.size() + 6 && name[0] == '.' &&
                      name.compare(name.size() - 6 - kMarker.size(), kMarker.size(), kMarker) == 0;
    if (!ours || !entry.is_regular_file()) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(name);
  }
  return removed;
}

std::string read_file(const std::string& path) { return read_regular_file(path, kMaxTextFileBytes, "text file"); }

}  // namespace sugar::io
