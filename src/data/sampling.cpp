#include "sugar/data/sampling.hpp"

#include <numeric>
#include <utility>

namespace sugar::data {

std::string shuffle_key(int64_t epoch) { return "shuffle/epoch" + std::to_string(epoch); }
std::string augment_key(int64_t epoch) { return "augment/epoch" + std::to_string(epoch); }

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  const RandomStream stream(seed, shuffle_key(epoch));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(random_below(stream, static_cast<uint64_t>(i), static_cast<uint64_t>(i + 1)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace sugar::data
