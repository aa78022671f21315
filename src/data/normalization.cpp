#include "sugar/data/normalization.hpp"

#include <cmath>

#include "sugar/error.hpp"

namespace sugar::data {

Normalization default_normalization(std::string_view name) {
  if (name == "cifar10") return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
  if (name == "cifar100") return {{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}};
  if (name == "fashion_mnist") return {{0.2860f}, {0.3530f}};
  if (name == "mnist") return {{0.1307f}, {0.3081f}};
  throw Error(detail::concat("no built-in normalisation for dataset '", name,
                             "' (known: cifar10, cifar100, fashion_mnist, mnist)"));
}

Normalization compute_normalization(const Dataset& dataset) {
  SUGAR_CHECK(dataset.size() > 0, dataset.description(), ": cannot compute normalisation of an empty dataset");
  const ImageShape shape = dataset.image_shape();
  const int64_t plane = int64_t{shape.height} * shape.width;
  std::vector<double> sum(static_cast<size_t>(shape.channels), 0.0), sum_sq(sum.size(), 0.0);
  for (int64_t i = 0; i < dataset.size(); ++i) {
    const uint8_t* pixels = dataset.pixels(i);
    for (int c = 0; c < shape.channels; ++c) {
      // Integer sums are exact; 2^63 / 255^2 leaves room for ~1e14 pixels.
      uint64_t s = 0, sq = 0;
      for (int64_t k = 0; k < plane; ++k) {
        const uint64_t v = pixels[c * plane + k];
        s += v;
        sq += v * v;
      }
      sum[static_cast<size_t>(c)] += static_cast<double>(s);
      sum_sq[static_cast<size_t>(c)] += static_cast<double>(sq);
    }
  }
  Normalization out;
  const double count = static_cast<double>(dataset.size() * plane);
  for (size_t c = 0; c < sum.size(); ++c) {
    const double mean = sum[c] / count / 255.0;
    const double var = std::max(0.0, sum_sq[c] / count / (255.0 * 255.0) - mean * mean);
    out.mean.push_back(static_cast<float>(mean));
    out.std.push_back(static_cast<float>(std::max(std::sqrt(var), 1e-6)));
  }
  return out;
}

}  // namespace sugar::data
