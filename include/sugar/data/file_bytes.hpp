#pragma once
// Whole-file reads for the dataset readers; dataset files are small enough (<= 200 MB) to hold at once,
// and holding them lets every format check sizes before it trusts a header.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace sugar::data {

// The bytes of `path`; throws sugar::Error naming the path when it is missing or unreadable.
std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path);

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const std::vector<uint8_t>& bytes);

// Inflates a gzip stream (every member, as `gzip -d` does); throws sugar::Error naming `path` when the
// stream is corrupt or truncated.
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& compressed, const std::filesystem::path& path);

// read_file_bytes, inflated when the file is gzipped (detected by its magic, not by its name).
std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path);

}  // namespace sugar::data
