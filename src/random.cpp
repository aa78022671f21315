#include "sugar/random.hpp"

#include <cmath>

namespace sugar {

uint64_t hash_key(std::string_view key) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

double RandomStream::normal(uint64_t counter) const {
  // Two 53-bit uniforms from counters 2k and 2k+1; u1 in (0, 1] so the log is finite.
  const double u1 = 1.0 - uniform_double(2 * counter);
  const double u2 = uniform_double(2 * counter + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace sugar
