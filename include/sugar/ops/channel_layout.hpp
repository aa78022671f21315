#pragma once
// Per-channel element-wise loops and reductions, for the learnable activations (prelu, acon_c, maxout),
// batch norm's statistics and the neuron statistics: each element needs its channel (and for
// meta_acon_c its sample), which the flat loops of sugar/ops/eltwise.hpp do not give. Every layout Sugar's activations meet has the form
//
//   offset(n, cb, s, l) = n * sample_stride + cb * block_stride + s * spatial_stride + l,
//   channel c = cb * block + l,
//
// with n the sample, cb the channel block, s the flattened spatial position and l the lane inside a
// channel block:
//   nchw (and [N, C])  block 1,  block_stride S,       spatial_stride 1
//   nhwc               block 1,  block_stride 1,       spatial_stride C
//   nChw16c / nChw8c   block B,  block_stride S * B,   spatial_stride B
// channel_layout() reads these from a descriptor and checks that the four axes tile the buffer exactly;
// any other layout goes through a plain copy (channel_view), so the kernels never read out of bounds.
//
// Lanes with c >= channels are the padding of a blocked layout. The loops visit them (keeping the
// innermost loop a plain contiguous run that vectorises); kernels read parameters from arrays padded
// with zeros to padded_channels() and re-zero the padding of their outputs (ops::zero_padding_).
#include <cstdint>
#include <optional>
#include <vector>

#include <omp.h>

#include "sugar/tensor.hpp"

namespace sugar::ops {

struct ChannelLayout {
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t block = 1;
  int64_t channel_blocks = 0;
  int64_t spatial = 1;
  int64_t sample_stride = 0;
  int64_t block_stride = 0;
  int64_t spatial_stride = 0;

  int64_t padded_channels() const { return channel_blocks * block; }
  int64_t elements() const { return batch * padded_channels() * spatial; }  // padding included
  bool has_padding() const { return padded_channels() != channels; }
};

// The layout of a dense f32/bf16 descriptor of rank >= 2 with dim 1 as channels; nullopt when it is not
// of the form above.
std::optional<ChannelLayout> channel_layout(const memory::desc& desc);

// An f32 tensor with x's values in a layout channel_layout() understands: x itself when it already is
// one (no copy), else a copy (f32, x's layout; or plain when x's layout is not understood).
struct ChannelView {
  Tensor tensor;
  ChannelLayout layout;
};
ChannelView channel_view(const Tensor& x, const char* op);

// `values` (a [C] or [1, C, 1, 1] parameter, or [N, C, 1, 1] per-sample values; any layout) as a
// row-major f32 array with each row of C padded with zeros to `padded_channels`.
std::vector<float> padded_channel_values(const Tensor& values, int64_t rows, int64_t channels,
                                         int64_t padded_channels);

// A result computed on a channel view, in `like`'s layout and data type (no copy when it already is).
Tensor restore_layout(const Tensor& y, const Tensor& like);

// Elements run above this count in parallel (smaller ones are not worth waking the threads).
inline constexpr int64_t kParallelThreshold = 32768;

// body(n, c, offset) for every element, padding lanes included. Parallel over (n, channel block); the
// innermost loop runs over the lanes of one block, contiguous in memory.
template <class Body>
void for_each_element(const ChannelLayout& L, Body&& body) {
  const int64_t outer = L.batch * L.channel_blocks;
#pragma omp parallel for schedule(static) if (L.elements() > kParallelThreshold)
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t n = o / L.channel_blocks;
    const int64_t cb = o % L.channel_blocks;
    const int64_t c0 = cb * L.block;
    const int64_t base = n * L.sample_stride + cb * L.block_stride;
    for (int64_t s = 0; s < L.spatial; ++s) {
      const int64_t at = base + s * L.spatial_stride;
#pragma omp simd
      for (int64_t l = 0; l < L.block; ++l) body(n, c0 + l, at + l);
    }
  }
}

// Like for_each_element, and body(n, c, offset, acc) may add into acc[0 .. accumulators): each thread
// has its own double accumulators, summed in thread order at the end, so the result does not depend
// on scheduling (for a given thread count). Used for parameter gradients (sums over N, H, W).
template <class Body>
std::vector<double> reduce_elements(const ChannelLayout& L, size_t accumulators, Body&& body) {
  const int64_t outer = L.batch * L.channel_blocks;
  const bool parallel = L.elements() > kParallelThreshold;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<std::vector<double>> partial(threads, std::vector<double>(accumulators, 0.0));
#pragma omp parallel num_threads(threads) if (parallel)
  {
    double* acc = partial[omp_get_thread_num()].data();
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t n = o / L.channel_blocks;
      const int64_t cb = o % L.channel_blocks;
      const int64_t c0 = cb * L.block;
      const int64_t base = n * L.sample_stride + cb * L.block_stride;
      for (int64_t s = 0; s < L.spatial; ++s) {
        const int64_t at = base + s * L.spatial_stride;
        for (int64_t l = 0; l < L.block; ++l) body(n, c0 + l, at + l, acc);
      }
    }
  }
  std::vector<double> total(accumulators, 0.0);
  for (const std::vector<double>& p : partial)
    for (size_t i = 0; i < accumulators; ++i) total[i] += p[i];
  return total;
}

// The inverse of padded_channel_values for accumulated sums: a plain f32 tensor of `shape` (rows * channels
// elements) holding sums[first + r * padded_channels + c] for each row r and channel c < channels.
Tensor tensor_from_channel_sums(const Shape& shape, const std::vector<double>& sums, size_t first, int64_t rows,
                                int64_t channels, int64_t padded_channels);

}  // namespace sugar::ops
