#pragma once
// The two random decisions the data pipeline makes, as pure functions of (seed, purpose, epoch, index),
// so that a batch's contents never depend on thread scheduling or on the number of loader threads.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/random.hpp"

namespace sugar::data {

// A uniform integer in [0, n) from the stream's counter (Lemire's multiply-shift on the top 32 bits;
// the bias is below n / 2^32, far under anything training can notice). n must be in [1, 2^32].
inline uint64_t random_below(const RandomStream& stream, uint64_t counter, uint64_t n) {
  return ((stream.bits(counter) >> 32) * n) >> 32;
}

// Stream keys: "shuffle/epoch<k>" and "augment/epoch<k>".
std::string shuffle_key(int64_t epoch);
std::string augment_key(int64_t epoch);

// The order in which an epoch visits samples 0..n-1: a Fisher-Yates permutation whose i-th swap uses
// counter i of RandomStream(seed, shuffle_key(epoch)).
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace sugar::data
