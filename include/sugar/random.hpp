#pragma once
// Counter-based random numbers: every draw is a pure function of (seed, stream key, counter), never
// of thread scheduling or of how many numbers other consumers drew before. Two runs that differ only
// in their activation therefore start from the same weights and see the same batches.
#include <cstdint>
#include <string_view>

namespace sugar {

// 64-bit FNV-1a of a text key ("init/layer1.0.conv1.weight", "dropout", "shuffle/epoch3").
uint64_t hash_key(std::string_view key);

// SplitMix64 finaliser: a bijective mix with good avalanche, enough for ML randomness.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class RandomStream {
 public:
  RandomStream(uint64_t seed, std::string_view key) : base_(mix64(seed ^ mix64(hash_key(key)))) {}
  RandomStream(uint64_t seed, uint64_t key) : base_(mix64(seed ^ mix64(key))) {}

  uint64_t bits(uint64_t counter) const { return mix64(base_ + mix64(counter)); }
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  float uniform(uint64_t counter) const { return static_cast<float>(bits(counter) >> 40) * 0x1.0p-24f; }
  // Uniform in [0, 1) with 53 bits.
  double uniform_double(uint64_t counter) const { return static_cast<double>(bits(counter) >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller on two independent uniforms derived from the counter).
  double normal(uint64_t counter) const;

 private:
  uint64_t base_;
};

}  // namespace sugar
