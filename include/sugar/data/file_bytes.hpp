#pragma once
// Reading dataset files. Every byte comes through io::read_regular_file (io/regular_file.hpp): after
// following symlinks the file must be a regular file (not /dev/zero, a FIFO or a directory) of at most
// io::kMaxDatasetFileBytes, so memory follows the file's real size. A gzipped file is inflated only as
// far as its reader asks (DatasetBytes), so a 2 MB gzip that would inflate to gigabytes costs no more
// than what its header honestly declares.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace sugar::data {

// The bytes of `path`; throws sugar::Error naming the path when it is missing, unreadable, not a
// regular file or larger than io::kMaxDatasetFileBytes.
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path);

// True when a directory entry of that name exists, even a dangling symlink or something that is not
// a file: a reader that finds one reads it and says what is wrong with it, instead of calling it missing.
bool names_an_entry(const std::filesystem::path& path);

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);

// The content of a dataset file, inflated while it is read when the file is gzipped (detected by its
// magic, not by its name; every gzip member, as `gzip -d` does; bytes after the last member that do not
// start another are ignored, as gzip only warns about them).
class DatasetBytes {
 public:
  explicit DatasetBytes(const std::filesystem::path& path);
  ~DatasetBytes();
  DatasetBytes(const DatasetBytes&) = delete;
  DatasetBytes& operator=(const DatasetBytes&) = delete;

  // Appends up to `n` more bytes of content to `out`, fewer only where the content ends; `out` grows
  // with what arrives, never to `n` ahead of it. Throws sugar::Error naming the file for a corrupt or
  // truncated gzip stream.
  size_t read(std::vector<uint8_t>& out, uint64_t n);

  // For a reader whose header check failed: the bytes it saw may come from a corrupt gzip stream,
  // which zlib detects only further on (or at the CRC). Inflates up to 1 MiB more, discarding it,
  // and throws the gzip error if one shows, so that corruption is reported as such; else returns.
  void throw_if_corrupt();

 private:
  struct Inflater;
  std::filesystem::path path_;
  std::vector<uint8_t> file_;  // as stored (compressed or not)
  size_t position_ = 0;        // plain files: the next byte of file_ to hand out
  std::unique_ptr<Inflater> inflater_;
};

// The whole content of `path`, inflated when gzipped; an error when it inflates past
// io::kMaxDatasetFileBytes.
std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path);

}  // namespace sugar::data
