#pragma once
// SHA-256 (FIPS 180-4), written out here so that Sugar needs no cryptography library for the one
// digest it takes: the identity of a model.init_from file in a run's math (train/initial_weights.hpp).
// It identifies contents; nothing here is meant to resist side channels.
//
//   io::Sha256 digest;
//   digest.update(bytes);            // any number of times, in pieces of any size
//   std::string hex = digest.hex();  // 64 lowercase hexadecimal digits, as sha256sum prints them
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sugar::io {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // The digest of everything given so far. Finishes the computation: update() and hex() are errors
  // (sugar::Error) afterwards.
  std::string hex();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

// The digest of `bytes` in one call.
std::string sha256_hex(std::string_view bytes);

// Whether `text` looks like a digest hex() writes: exactly 64 lowercase hexadecimal digits.
bool is_sha256_hex(std::string_view text);

}  // namespace sugar::io
