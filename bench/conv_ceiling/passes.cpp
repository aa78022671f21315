#include "passes.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace conv_ceiling {

namespace {

using dnnl::memory;
using Arguments = std::unordered_map<int, memory>;

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

memory::data_type onednn_type(DataType type) {
  return type == DataType::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
}

// The buffers of one layer's passes, on 2 MiB boundaries and advised for transparent huge pages, as
// Sugar's memory pool maps its tensors (src/memory_pool.cpp): a ceiling gives the primitives every
// advantage, and on 4 KiB pages the large backward-weights passes lose up to a third to TLB misses.
class HugePageBuffers {
 public:
  HugePageBuffers() = default;
  HugePageBuffers(const HugePageBuffers&) = delete;
  HugePageBuffers& operator=(const HugePageBuffers&) = delete;
  ~HugePageBuffers() {
    for (const auto& [address, bytes] : mappings_) munmap(address, bytes);
  }

  // An uninitialised memory of `desc` whose buffer lives as long as this object.
  memory make(const memory::desc& desc) {
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t bytes = (std::max<size_t>(desc.get_size(), 1) + kHuge - 1) / kHuge * kHuge;
    void* mapped = mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    mappings_.emplace_back(mapped, bytes + kHuge);
    const auto start = reinterpret_cast<uintptr_t>(mapped);
    auto* aligned = reinterpret_cast<char*>((start + kHuge - 1) / kHuge * kHuge);
    madvise(aligned, bytes, MADV_HUGEPAGE);
    return memory(desc, engine(), aligned);
  }

 private:
  std::vector<std::pair<void*, size_t>> mappings_;
};

// A buffer in the primitive's layout filled with small values of both signs (no denormals, no
// overflow): the speed of the kernels does not depend on the values, but NaNs could.
memory filled(const memory::desc& desc, HugePageBuffers& buffers) {
  memory m = buffers.make(desc);
  const size_t bytes = desc.get_size();
  auto* data = static_cast<uint8_t*>(m.get_data_handle());
  if (desc.data_type() == memory::data_type::bf16) {
    for (size_t i = 0; i + 1 < bytes; i += 2) {
      const float value = 0.01f * static_cast<float>(static_cast<int>(i / 2 % 17) - 8);
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      const auto high = static_cast<uint16_t>(bits >> 16);  // bf16 is the upper half of an f32
      std::memcpy(data + i, &high, sizeof high);
    }
  } else {
    for (size_t i = 0; i + 3 < bytes; i += 4) {
      const float value = 0.01f * static_cast<float>(static_cast<int>(i / 4 % 17) - 8);
      std::memcpy(data + i, &value, sizeof value);
    }
  }
  return m;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

PassTime time_primitive(const dnnl::primitive& primitive, const Arguments& arguments, const char* implementation,
                        const TimingOptions& options) {
  dnnl::stream stream(engine());
  std::vector<double> ms;
  for (int run = 0; run < options.warmup + options.iters; ++run) {
    const auto start = std::chrono::steady_clock::now();
    primitive.execute(stream, arguments);
    stream.wait();
    const double elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (run >= options.warmup) ms.push_back(elapsed);
  }
  return {median(ms), implementation};
}

struct Shapes {
  memory::dims src, weights, bias, dst, strides, padding;
};

Shapes shapes_of(const ConvLayer& l, int batch) {
  return {{batch, l.in_channels, l.in_side, l.in_side},
          {l.out_channels, l.in_channels, l.kernel, l.kernel},
          {l.out_channels},
          {batch, l.out_channels, l.out_side(), l.out_side()},
          {l.stride, l.stride},
          {l.padding, l.padding}};
}

memory::desc any_layout(const memory::dims& dims, memory::data_type type) {
  return memory::desc(dims, type, memory::format_tag::any);
}

PassTime time_backward_weights(const ConvLayer& layer, const Shapes& s, memory::data_type compute,
                               memory::data_type diff_weights_type,
                               const dnnl::convolution_forward::primitive_desc& hint, const TimingOptions& options,
                               HugePageBuffers& buffers) {
  const memory::desc diff_bias =
      layer.bias ? memory::desc(s.bias, diff_weights_type, memory::format_tag::x) : memory::desc();
  const dnnl::convolution_backward_weights::desc desc(
      dnnl::algorithm::convolution_direct, any_layout(s.src, compute), any_layout(s.weights, diff_weights_type),
      diff_bias, any_layout(s.dst, compute), s.strides, s.padding, s.padding);
  const dnnl::convolution_backward_weights::primitive_desc pd(desc, engine(), hint);
  Arguments arguments{{DNNL_ARG_SRC, filled(pd.src_desc(), buffers)},
                      {DNNL_ARG_DIFF_DST, filled(pd.diff_dst_desc(), buffers)},
                      {DNNL_ARG_DIFF_WEIGHTS, buffers.make(pd.diff_weights_desc())}};
  if (layer.bias) arguments.insert({DNNL_ARG_DIFF_BIAS, buffers.make(pd.diff_bias_desc())});
  return time_primitive(dnnl::convolution_backward_weights(pd), arguments, pd.impl_info_str(), options);
}

}  // namespace

LayerTimes time_layer(const ConvLayer& layer, const TimingOptions& options) {
  const Shapes s = shapes_of(layer, options.batch);
  const memory::data_type compute = onednn_type(options.dtype);
  LayerTimes times;
  HugePageBuffers buffers;  // outlives every memory below

  // Bias stays f32 in bf16 too (oneDNN accumulates in f32 and adds it there).
  const memory::desc bias =
      layer.bias ? memory::desc(s.bias, memory::data_type::f32, memory::format_tag::x) : memory::desc();
  const dnnl::convolution_forward::desc forward_desc(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, any_layout(s.src, compute),
      any_layout(s.weights, compute), bias, any_layout(s.dst, compute), s.strides, s.padding, s.padding);
  const dnnl::convolution_forward::primitive_desc forward(forward_desc, engine());
  {
    Arguments arguments{{DNNL_ARG_SRC, filled(forward.src_desc(), buffers)},
                        {DNNL_ARG_WEIGHTS, filled(forward.weights_desc(), buffers)},
                        {DNNL_ARG_DST, buffers.make(forward.dst_desc())}};
    if (layer.bias) arguments.insert({DNNL_ARG_BIAS, filled(forward.bias_desc(), buffers)});
    times.forward = time_primitive(dnnl::convolution_forward(forward), arguments, forward.impl_info_str(), options);
  }

  if (!layer.first) {
    const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, any_layout(s.src, compute),
                                                     any_layout(s.weights, compute), any_layout(s.dst, compute),
                                                     s.strides, s.padding, s.padding);
    const dnnl::convolution_backward_data::primitive_desc pd(desc, engine(), forward);
    const Arguments arguments{{DNNL_ARG_DIFF_DST, filled(pd.diff_dst_desc(), buffers)},
                              {DNNL_ARG_WEIGHTS, filled(pd.weights_desc(), buffers)},
                              {DNNL_ARG_DIFF_SRC, buffers.make(pd.diff_src_desc())}};
    times.backward_data = time_primitive(dnnl::convolution_backward_data(pd), arguments, pd.impl_info_str(), options);
  }

  times.backward_weights = time_backward_weights(layer, s, compute, compute, forward, options, buffers);
  if (options.dtype == DataType::bf16)
    times.backward_weights_f32 =
        time_backward_weights(layer, s, compute, memory::data_type::f32, forward, options, buffers);
  return times;
}

}  // namespace conv_ceiling
