#pragma once
// Element-wise building blocks shared by ReLU, dropout and the activation table.
//
// Two kinds:
//  1. oneDNN eltwise primitives (relu, elu, gelu, swish, logistic, ...): eltwise_forward and
//     eltwise_backward, on any layout, created once per (algorithm, alpha, beta, layout) through the
//     primitive cache. oneDNN keeps the padding lanes of blocked layouts zero itself.
//  2. Custom loops for functions oneDNN does not have (SUGAR surrogate gradients, masks):
//     map_elements / map_elements_ / zip_elements apply a pure functor to every element.
//
// How the custom loops treat blocked layouts (5 channels in a 16-lane block): they run over the
// whole padded buffer as one flat array, because that loop is contiguous, vectorises and splits
// evenly across threads. Padding lanes hold 0, so they receive f(0) (or f(0, 0)); when that is not
// +0.0 bit for bit (sigmoid(0) = 0.5, or -0.0 from 0 * negative) the padding lanes are re-zeroed
// afterwards by zero_padding_, which touches only the padding elements. The functor must therefore
// be pure (same input, same output) and must not depend on the element's position.
//
// Custom loops compute in f32; bf16 tensors pass through an f32 copy in the same layout.
#include <bit>
#include <cstdint>
#include <cstring>

#include <oneapi/dnnl/dnnl.hpp>

#include "sugar/error.hpp"
#include "sugar/tensor.hpp"

namespace sugar::ops {

// ---- oneDNN eltwise -----------------------------------------------------------------------------

// One oneDNN eltwise function: its algorithm with alpha and beta (what an activation row's forward
// is in oneDNN's terms, and what a convolution can apply to its output as a post-op).
struct EltwiseOp {
  dnnl::algorithm algorithm = dnnl::algorithm::eltwise_relu;
  float alpha = 0.0f;
  float beta = 0.0f;
  bool operator==(const EltwiseOp&) const = default;
};

// True for the *_use_dst_for_bwd algorithms, whose backward reads the forward's output (dst)
// instead of its input (src).
bool eltwise_backward_uses_dst(dnnl::algorithm algorithm);

// y = f(x) with x's layout and data type. prop is forward_training when a backward will follow
// (required by the *_use_dst_for_bwd algorithms), forward_inference otherwise.
Tensor eltwise_forward(dnnl::algorithm algorithm, float alpha, float beta, const Tensor& x,
                       dnnl::prop_kind prop = dnnl::prop_kind::forward_training);

// The same into an existing tensor y with x's exact layout; y may be x itself (in place).
void eltwise_forward_into(dnnl::algorithm algorithm, float alpha, float beta, const Tensor& x, const Tensor& y,
                          dnnl::prop_kind prop = dnnl::prop_kind::forward_training);

// dx = f'(.) * dy. `saved` is the forward's dst for the *_use_dst_for_bwd algorithms and its src
// otherwise (see eltwise_backward_uses_dst). dx has saved's layout; dy is reordered to it if needed.
Tensor eltwise_backward(dnnl::algorithm algorithm, float alpha, float beta, const Tensor& saved, const Tensor& dy);

// ---- custom element-wise loops ------------------------------------------------------------------

// Writes zero into every padding lane of t's storage (the elements beyond the logical dims in a
// blocked layout). Cost is proportional to the number of padding elements; nothing for plain layouts.
void zero_padding_(const Tensor& t);

// True when t's storage is exactly its padded elements, one after another with no gaps or offset
// (every tensor Sugar allocates; not true for a strided view). The custom loops require it.
bool is_dense_layout(const memory::desc& desc);

namespace detail {

void check_dense_f32(const Tensor& t, const char* what);

inline bool is_positive_zero(float value) { return std::bit_cast<uint32_t>(value) == 0u; }

// The one loop: out[i] = f(in[i]) over n elements; contiguous, so the compiler vectorises it.
template <class F>
void map_loop(const float* in, float* out, int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

template <class F>
void zip_loop(const float* a, const float* b, float* out, int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}

}  // namespace detail

// y = f(x) element-wise; y has x's layout and data type; padding lanes stay zero.
template <class F>
Tensor map_elements(const Tensor& x, F f) {
  if (x.dtype() != DType::f32) return map_elements(x.to_dtype(DType::f32), f).to_dtype(x.dtype());
  detail::check_dense_f32(x, "map_elements");
  Tensor y = Tensor::from_desc(x.desc());
  detail::map_loop(x.data<float>(), y.data<float>(), x.padded_numel(), f);
  if (!detail::is_positive_zero(f(0.0f))) zero_padding_(y);
  return y;
}

// t = f(t) in place (t's storage is overwritten; copies of t see the change).
template <class F>
void map_elements_(const Tensor& t, F f) {
  if (t.dtype() != DType::f32) {
    const Tensor result = map_elements(t.to_dtype(DType::f32), f).to_dtype(t.dtype());
    SUGAR_CHECK(result.desc() == t.desc(), "map_elements_: bf16 round trip changed the layout of ", describe(t.desc()));
    std::memcpy(t.raw_data(), result.raw_data(), t.bytes());
    return;
  }
  detail::check_dense_f32(t, "map_elements_");
  detail::map_loop(t.data<float>(), t.data<float>(), t.padded_numel(), f);
  if (!detail::is_positive_zero(f(0.0f))) zero_padding_(t);
}

// y = f(a, b) element-wise for two tensors of the same shape. y has a's layout and data type; b is
// reordered (and converted) to a's layout first if it differs.
template <class F>
Tensor zip_elements(const Tensor& a, const Tensor& b, F f) {
  SUGAR_CHECK(a.shape() == b.shape(), "zip_elements: shapes differ, ", to_string(a.shape()), " vs ",
              to_string(b.shape()));
  if (a.dtype() != DType::f32) return zip_elements(a.to_dtype(DType::f32), b, f).to_dtype(a.dtype());
  detail::check_dense_f32(a, "zip_elements");
  const Tensor rhs = b.to_desc(a.desc());
  Tensor y = Tensor::from_desc(a.desc());
  detail::zip_loop(a.data<float>(), rhs.data<float>(), y.data<float>(), a.padded_numel(), f);
  if (!detail::is_positive_zero(f(0.0f, 0.0f))) zero_padding_(y);
  return y;
}

}  // namespace sugar::ops
