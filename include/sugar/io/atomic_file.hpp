#pragma once
// Files that are either completely old or completely new: the content goes to a temporary file in the
// same directory (so rename stays on one filesystem), is flushed and fsync'ed, then renamed over the
// target, and the directory is fsync'ed so the rename itself survives a crash. A reader, or a run
// killed mid-write, never sees half a checkpoint or half a status file.
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sugar::io {

// Writes `bytes` to `path` atomically. Throws sugar::Error naming the path and the failing step.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Atomically writes what `fill` writes to the FILE* (for large files that should not be assembled in
// memory first). If `fill` throws, the temporary file is removed and `path` is left untouched.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& fill);

// A process killed inside write_file_atomic (SIGKILL, power loss) leaves its temporary file, named
// .<target>.tmp.XXXXXX, next to the intact target. Removes those in `dir` and returns their names; call
// it only when no other process may be writing there.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Unlinks the temporary files of the writes in progress in this process. Async-signal-safe: for a
// signal handler that is about to let the process die (sugar/signals.hpp).
void remove_files_being_written();

// fwrite that throws sugar::Error naming `path` on a short write.
void write_all(std::FILE* file, const void* data, size_t bytes, const std::string& path);

// The whole file as bytes; sugar::Error naming the path when it cannot be read or is not a regular
// file of at most kMaxTextFileBytes (io/regular_file.hpp, which does the reading).
std::string read_file(const std::string& path);

}  // namespace sugar::io
