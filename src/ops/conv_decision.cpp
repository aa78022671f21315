// The rule that turns interleaved timings into a choice (see conv_decision.hpp).
#include "sugar/ops/conv_decision.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sugar/error.hpp"

namespace sugar::ops {
namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string format(const char* pattern, double a, double b = 0) {
  char text[96];
  std::snprintf(text, sizeof text, pattern, a, b);
  return text;
}

}  // namespace

PassDecision decide_pass(const PassTimings& t, ConvAlgorithm prior) {
  SUGAR_CHECK(t.direct_ms.size() >= kMinPairs && t.direct_ms.size() == t.winograd_ms.size(),
              "convolution timing: expected as many Winograd as direct times, at least ", kMinPairs, ", got ",
              t.direct_ms.size(), " and ", t.winograd_ms.size());
  std::vector<double> log_ratios;
  for (size_t i = 0; i < t.direct_ms.size(); ++i) {
    const double d = t.direct_ms[i], w = t.winograd_ms[i];
    SUGAR_CHECK(std::isfinite(d) && std::isfinite(w) && d > 0 && w > 0,
                "convolution timing: times must be positive and finite, got ", d, " and ", w, " ms");
    log_ratios.push_back(std::log(w / d));
  }
  const double centre = median_of(log_ratios);
  std::vector<double> deviations;
  for (double l : log_ratios) deviations.push_back(std::abs(l - centre));
  const double noise = std::max(kNoiseFloor, 1.4826 * median_of(deviations));
  const double uncertainty = kNoiseWidths * noise / std::sqrt(static_cast<double>(log_ratios.size()));
  const double threshold = std::log(1.0 - kWinogradMargin);

  PassDecision d;
  d.direct_median_ms = median_of(t.direct_ms);
  d.winograd_median_ms = median_of(t.winograd_ms);
  d.ratio = std::exp(centre);
  d.noise = noise;
  const std::string measured = format("winograd %.2fx direct +-%.0f%%", d.ratio, 100 * (std::exp(uncertainty) - 1));
  if (t.others_busy > kBusyLimit) {
    d.algorithm = prior;
    d.provisional = true;
    d.reason = measured + format(", but other processes used %.0f%% of the processors (limit %.0f%%): prior",
                                 100 * t.others_busy, 100 * kBusyLimit);
  } else if (centre + uncertainty < threshold) {
    d.algorithm = ConvAlgorithm::winograd;
    d.reason = measured;
  } else if (centre - uncertainty >= threshold) {
    d.algorithm = ConvAlgorithm::direct;
    d.reason = measured;
  } else {
    d.algorithm = prior;
    d.provisional = true;
    d.reason = measured + format(": too close to the %.0f%% margin to call: prior", 100 * kWinogradMargin);
  }
  return d;
}

ConvAlgorithm prior_algorithm(int64_t in_channels, int64_t out_height, int64_t out_width) {
  return in_channels >= kPriorMinChannels && out_height >= kPriorMinSide && out_width >= kPriorMinSide
             ? ConvAlgorithm::winograd
             : ConvAlgorithm::direct;
}

}  // namespace sugar::ops
