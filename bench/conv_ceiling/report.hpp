#pragma once
// conv_ceiling's results: per layer and in total, as text for people or one JSON object on one line.
#include <string>
#include <vector>

#include "layers.hpp"
#include "passes.hpp"

namespace conv_ceiling {

struct CeilingRun {
  std::string model;
  TimingOptions options;
  int threads = 0;
  std::string onednn_version;
  std::vector<ConvLayer> layers;
  std::vector<LayerTimes> times;  // one per layer
};

// The totals: every pass of every layer once, summed (backward-weights: the faster diff_weights type
// per layer for bf16).
struct CeilingTotals {
  double forward_ms = 0, backward_data_ms = 0, backward_weights_ms = 0;
  double backward_weights_bf16_ms = 0, backward_weights_f32_ms = 0;  // bf16 runs: each diff_weights type alone
  double gflop_per_image = 0;  // forward + backward-data (not the first layer) + backward-weights
  double ms() const { return forward_ms + backward_data_ms + backward_weights_ms; }
};

CeilingTotals totals_of(const CeilingRun& run);

std::string to_text(const CeilingRun& run);
std::string to_json(const CeilingRun& run);

}  // namespace conv_ceiling
