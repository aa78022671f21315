// FReLU (Ma et al., "Funnel Activation for Visual Recognition", ECCV 2020):
//   y = max(x, BN(depthwise_conv3x3(x))),
// the funnel condition T(x) built by the FReLU module (nn/learnable_activations) from the existing conv2d
// and batch_norm2d ops, and the funnel max below, forward and backward side by side.
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations::learnable {

namespace {

// out_x = t > x ? 0 : dy and out_t = t > x ? dy : 0 over the whole padded buffer (padding lanes hold
// zeros everywhere, so they stay +0).
void route_to_winner(const float* x, const float* t, const float* dy, float* out_x, float* out_t, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const bool t_wins = t[i] > x[i];
    out_x[i] = t_wins ? 0.0f : dy[i];
    out_t[i] = t_wins ? dy[i] : 0.0f;
  }
}

}  // namespace

Tensor funnel_max(const Tensor& x, const Tensor& t) {
  SUGAR_CHECK(x.defined() && t.defined(), "funnel_max: undefined input");
  SUGAR_CHECK(x.shape() == t.shape(), "funnel_max: x ", to_string(x.shape()), " and the funnel condition ",
              to_string(t.shape()), " differ in shape");
  // Ties go to x: y = t only where t is strictly greater.
  Tensor y = ops::zip_elements(x, t, [](float a, float b) { return b > a ? b : a; });
  if (autograd::needs_grad({x, t})) {
    autograd::record("funnel_max", {x, t}, {y}, [x, t](const std::vector<Tensor>& grads) {
      // Everything in x's layout, in f32 (the loop is one flat pass over the padded buffer).
      const Tensor xf = x.to_dtype(DType::f32);
      SUGAR_CHECK(ops::is_dense_layout(xf.desc()), "funnel_max: needs a dense layout, got ", describe(xf.desc()));
      const Tensor tf = t.to_desc(xf.desc());
      const Tensor dy = grads[0].to_desc(xf.desc());
      Tensor dx = Tensor::from_desc(xf.desc());
      Tensor dt = Tensor::from_desc(xf.desc());
      route_to_winner(xf.data<float>(), tf.data<float>(), dy.data<float>(), dx.data<float>(), dt.data<float>(),
                      xf.padded_numel());
      autograd::accumulate_grad(x, dx);
      autograd::accumulate_grad(t, dt);
    });
  }
  return y;
}

}  // namespace sugar::activations::learnable
