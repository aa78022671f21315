#pragma once
// The one way Sugar reads a file whose name a user gave it (datasets, checkpoints, a run directory's
// JSON and CSV files). Users link their data, so symlinks are followed; but what the link reaches must
// be a regular file, checked with fstat on the opened descriptor (so nothing can swap it between the
// check and the read), and its size is checked against a limit before a byte is read. /dev/zero, a
// FIFO (opened without blocking, so a FIFO nobody writes to cannot hang the program), a directory or
// a file larger than the limit is refused with one error naming the path and what was expected; the
// memory a read takes is the file's real size, never more.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sugar::io {

// Limits for the kinds of files read. Generous for honest files, far below what would exhaust memory.
inline constexpr uint64_t kMaxDatasetFileBytes = uint64_t{2} << 30;     // CIFAR-100 train.bin is 154 MB
inline constexpr uint64_t kMaxImageFileBytes = uint64_t{256} << 20;     // one image of an image folder
inline constexpr uint64_t kMaxCheckpointFileBytes = uint64_t{16} << 30;  // a VGG-16 + Adam checkpoint is ~0.6 GB
inline constexpr uint64_t kMaxTextFileBytes = uint64_t{256} << 20;       // status.json, run.json, metrics.csv
inline constexpr uint64_t kMaxConfigFileBytes = uint64_t{16} << 20;      // a config is a few KB, a grid a few more

// The size of the regular file at `path` (symlinks followed), checked as read_regular_file checks it,
// without reading it: for checking a dataset's structure before anything is loaded. `what` names the
// kind of file in messages ("dataset file", "checkpoint").
uint64_t regular_file_size(const std::string& path, uint64_t max_bytes, std::string_view what);

// The whole file. Throws sugar::Error (runtime) naming `path`: missing, unreadable, not a regular
// file after following symlinks (saying what it is: a directory, a FIFO, a character device), larger
// than max_bytes, or changed size while being read.
std::string read_regular_file(const std::string& path, uint64_t max_bytes, std::string_view what);
std::vector<uint8_t> read_regular_file_bytes(const std::string& path, uint64_t max_bytes, std::string_view what);

}  // namespace sugar::io
