// rrelu (randomized leaky ReLU, Xu et al. 2015, as PyTorch defines it): in training every element
// with x <= 0 gets its own slope r ~ U[lower, upper) and y = r * x; the backward passes dy * r there
// and dy where x > 0. In evaluation the slope is the mean (lower + upper) / 2 (the row's kernels).
#include <cstring>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/builtin.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations {

namespace {

// Slopes in x's layout (and f32): drawn in row-major logical order, so that a plain and a blocked
// tensor with the same values get the same slopes; the reorder writes zeros into padding lanes.
Tensor draw_slopes(const Tensor& x, float lower, float upper, const RandomSource& random) {
  Tensor plain = Tensor::zeros(x.shape(), DType::f32);
  float* r = plain.data<float>();
  const int64_t n = plain.numel();
  const float width = upper - lower;
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) r[i] = lower + width * random.stream.uniform(random.first_counter + i);
  memory::desc layout = x.desc();
  if (x.dtype() != DType::f32) layout = x.to_dtype(DType::f32).desc();
  return plain.to_desc(layout);
}

}  // namespace

Tensor apply_rrelu(const ActivationSpec& spec, const Tensor& x, bool training, const RandomSource& random) {
  const ActivationRow& row = spec.row();
  if (!training) {
    const ParamValues p = spec.kernel_params();
    std::shared_ptr<const ActivationRow> row_ptr = spec.row_ptr();
    Tensor y = row.kernels.forward(x, p);
    if (autograd::needs_grad({x})) {
      autograd::record("rrelu", {x}, {y}, [row_ptr, p, x](const std::vector<Tensor>& grads) {
        autograd::accumulate_grad(x, row_ptr->kernels.backward(x, grads[0], p));
      });
    }
    return y;
  }
  const Tensor slopes = draw_slopes(x, static_cast<float>(spec.number("lower")),
                                    static_cast<float>(spec.number("upper")), random);
  // dy/dx per element: 1 where x > 0, the drawn slope where x <= 0 (PyTorch: the slope at x = 0).
  const Tensor multiplier = ops::zip_elements(x, slopes, [](float v, float r) { return v > 0.0f ? 1.0f : r; });
  Tensor y = ops::zip_elements(x, multiplier, [](float v, float m) { return v * m; });
  if (autograd::needs_grad({x})) {
    autograd::record("rrelu", {x}, {y}, [x_grad = autograd::grad_target(x), multiplier](const std::vector<Tensor>& grads) {
      const Tensor dy = grads[0].to_desc(multiplier.desc());
      autograd::accumulate_grad(x_grad, ops::zip_elements(dy, multiplier, [](float g, float m) { return g * m; }));
    });
  }
  return y;
}

}  // namespace sugar::activations
