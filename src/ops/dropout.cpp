#include "sugar/ops/dropout.hpp"

#include <cmath>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::ops {

namespace {

// The mask holds 0 for dropped elements and 1/(1-p) for kept ones, drawn by logical (row-major)
// element index so that it is the same whatever x's layout or the thread count; it is built plain
// and then reordered into `layout`, which writes zeros into any padding lanes.
Tensor dropout_mask(const Shape& shape, float p, const RandomStream& rng, uint64_t first_counter,
                    const memory::desc& layout) {
  Tensor mask = Tensor::zeros(shape, DType::f32);
  float* m = mask.data<float>();
  const int64_t n = mask.numel();
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) m[i] = rng.uniform(first_counter + static_cast<uint64_t>(i)) < p ? 0.0f : scale;
  return mask.to_desc(layout);
}

}  // namespace

Tensor dropout(const Tensor& x, float p, bool training, const RandomStream& rng, uint64_t first_counter) {
  SUGAR_CHECK(std::isfinite(p) && p >= 0.0f && p < 1.0f, "dropout: probability p must be in [0, 1), got ", p);
  if (!training || p == 0.0f) return x;

  // The mask stays f32 in x's layout, so survivors are scaled by exactly 1/(1-p) even for bf16 input.
  const Tensor x_f32 = x.to_dtype(DType::f32);
  const Tensor mask = dropout_mask(x.shape(), p, rng, first_counter, x_f32.desc());
  const auto multiply = [](float a, float b) { return a * b; };
  Tensor y = zip_elements(x_f32, mask, multiply).to_dtype(x.dtype());
  autograd::record("dropout", {x}, {y}, [x_grad = autograd::grad_target(x), mask, multiply](const std::vector<Tensor>& grads) {
    autograd::accumulate_grad(x_grad, zip_elements(mask, grads[0], multiply));
  });
  return y;
}

}  // namespace sugar::ops
