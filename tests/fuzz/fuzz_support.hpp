#pragma once
// Shared by the fuzz targets. The contract they check: a parser of untrusted input either accepts it
// or throws sugar::Error (one line, what and where). Any other exception, a crash, a leak or undefined
// behaviour (ASan + UBSan) is a finding: the exception escapes LLVMFuzzerTestOneInput and libFuzzer
// reports it with the input that caused it.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "sugar/error.hpp"

namespace sugar::fuzz {

// A private folder for targets whose parsers read files, made once per process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "sugar-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    std::filesystem::path made(pattern);
    static const std::filesystem::path to_remove = made;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    return made;
  }();
  return dir;
}

inline void write_bytes(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();
}

// Runs `parse`; sugar::Error is the expected way to reject input, anything else propagates.
template <class Parse>
void accept_or_reject(Parse&& parse) {
  try {
    parse();
  } catch (const sugar::Error&) {
  }
}

// A violated invariant of accepted input: print it and abort, so that libFuzzer keeps the input.
[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace sugar::fuzz
