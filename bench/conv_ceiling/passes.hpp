#pragma once
// One convolution's three training passes as oneDNN primitives, each timed alone: forward
// (forward_training), backward-data and backward-weights, direct algorithm, every tensor in the layout
// the primitive prefers (format_tag::any, no reorder timed), buffers advised for transparent huge pages
// as Sugar's tensors are. What a framework would reach if
// everything but the convolutions took no time: the convolution-only ceiling.
#include <optional>
#include <string>

#include "layers.hpp"

namespace conv_ceiling {

enum class DataType { f32, bf16 };

struct PassTime {
  double ms = 0;               // median of the timed runs
  std::string implementation;  // oneDNN's name for the kernel it chose ("jit:avx512_core")
};

struct LayerTimes {
  PassTime forward;
  std::optional<PassTime> backward_data;  // absent for the first layer
  PassTime backward_weights;              // diff_weights in the compute type (bf16 for bf16)
  // bf16 only: backward-weights with f32 diff_weights (bf16 src and diff_dst, f32 accumulation kept).
  std::optional<PassTime> backward_weights_f32;
};

struct TimingOptions {
  int batch = 128;
  DataType dtype = DataType::f32;
  int warmup = 1;  // untimed runs of each pass first (page faults, caches)
  int iters = 5;   // timed runs; their median is kept
};

// Creates the layer's primitives and times them. Throws dnnl::error where oneDNN has no direct
// convolution for the layer and data type on this CPU.
LayerTimes time_layer(const ConvLayer& layer, const TimingOptions& options);

}  // namespace conv_ceiling
