#include "sugar/io/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sugar/error.hpp"

namespace sugar::io {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string mebibytes(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// An open descriptor of a regular file no larger than the limit; closed on every path out.
class CheckedFile {
 public:
  // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever; it changes nothing
  // for a regular file, and anything else is refused before it is read.
  CheckedFile(const std::string& path, uint64_t max_bytes, std::string_view what)
      : fd_(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error("cannot open " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd_, &info) != 0) fail("cannot stat " + path + ": " + std::strerror(errno));
    if (!S_ISREG(info.st_mode))
      fail(path + " is " + kind_of(info.st_mode) + ", expected a regular file (" + std::string(what) + ")");
    size_ = static_cast<uint64_t>(info.st_size);
    if (size_ > max_bytes)
      fail(path + " holds " + std::to_string(size_) + " bytes, more than a " + std::string(what) + " may (" +
           mebibytes(max_bytes) + ")");
  }
  ~CheckedFile() { ::close(fd_); }
  CheckedFile(const CheckedFile&) = delete;
  CheckedFile& operator=(const CheckedFile&) = delete;

  uint64_t size() const { return size_; }

  // Exactly size() bytes into `out`; a file that shrinks meanwhile is an error, one that grows is
  // read as it was when opened.
  void read_into(char* out, const std::string& path) const {
    uint64_t done = 0;
    while (done < size_) {
      const ssize_t got = ::read(fd_, out + done, static_cast<size_t>(std::min<uint64_t>(size_ - done, 1u << 30)));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw Error("cannot read " + path + ": " + std::strerror(errno));
      if (got == 0)
        throw Error(path + ": read " + std::to_string(done) + " of " + std::to_string(size_) +
                    " bytes (the file shrank while being read)");
      done += static_cast<uint64_t>(got);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message) {
    ::close(fd_);
    fd_ = -1;
    throw Error(message);
  }
  int fd_;
  uint64_t size_ = 0;
};

template <class Bytes>
Bytes read_checked(const std::string& path, uint64_t max_bytes, std::string_view what) {
  const CheckedFile file(path, max_bytes, what);
  Bytes bytes(static_cast<size_t>(file.size()), 0);
  file.read_into(reinterpret_cast<char*>(bytes.data()), path);
  return bytes;
}

}  // namespace

uint64_t regular_file_size(const std::string& path, uint64_t max_bytes, std::string_view what) {
  return CheckedFile(path, max_bytes, what).size();
}

std::string read_regular_file(const std::string& path, uint64_t max_bytes, std::string_view what) {
  return read_checked<std::string>(path, max_bytes, what);
}

std::vector<uint8_t> read_regular_file_bytes(const std::string& path, uint64_t max_bytes, std::string_view what) {
  return read_checked<std::vector<uint8_t>>(path, max_bytes, what);
}

}  // namespace sugar::io
