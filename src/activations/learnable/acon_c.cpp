// ACON-C: the op, forward and backward side by side, shared by the AconC and MetaAconC modules (whose
// beta is per sample; the modules: nn/learnable_activations).
#include <cmath>

#include "sugar/ops/channel_layout.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations::learnable {
// The per-channel loops (ChannelLayout, for_each_element, ...: ops/channel_layout.hpp).
using namespace sugar::ops;

namespace {

inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

std::string shape_or_undefined(const Tensor& t) { return t.defined() ? to_string(t.shape()) : "undefined"; }

}  // namespace

Tensor acon_c(const Tensor& x, const Tensor& p1, const Tensor& p2, const Tensor& beta) {
  const ChannelView view = channel_view(x, "acon_c");
  const ChannelLayout& L = view.layout;
  const int64_t C = L.channels;
  const int64_t CP = L.padded_channels();
  SUGAR_CHECK(p1.defined() && p2.defined() && p1.numel() == C && p2.numel() == C,
              "acon_c: p1 and p2 must hold one value per channel (", C, "), got p1 ", shape_or_undefined(p1), ", p2 ",
              shape_or_undefined(p2), " for input ", to_string(x.shape()));
  SUGAR_CHECK(beta.defined() && (beta.numel() == C || (beta.numel() == L.batch * C && beta.dim(0) == L.batch)),
              "acon_c: beta must hold one value per channel (", C, ") or per sample and channel ([", L.batch, ", ", C,
              ", 1, 1]), got ", shape_or_undefined(beta), " for input ", to_string(x.shape()));
  // With N = 1 both readings are the same values.
  const bool per_sample = beta.numel() != C;
  const int64_t beta_rows = per_sample ? L.batch : 1;
  // Padding lanes get p1 = p2 = beta = 0: y = 0 * x * s + 0 * x = +0 there.
  const std::vector<float> P1 = padded_channel_values(p1, 1, C, CP);
  const std::vector<float> P2 = padded_channel_values(p2, 1, C, CP);
  const std::vector<float> B = padded_channel_values(beta, beta_rows, C, CP);
  const int64_t beta_row_stride = per_sample ? CP : 0;

  Tensor y_work = Tensor::from_desc(view.tensor.desc());
  {
    const float* in = view.tensor.data<float>();
    float* out = y_work.data<float>();
    const float *a1 = P1.data(), *a2 = P2.data(), *b = B.data();
    for_each_element(L, [=](int64_t n, int64_t c, int64_t i) {
      const float d = a1[c] - a2[c];
      const float dx = d * in[i];
      out[i] = dx * sigmoid(b[n * beta_row_stride + c] * dx) + a2[c] * in[i];
    });
    if (L.has_padding()) ops::zero_padding_(y_work);
  }
  Tensor y = restore_layout(y_work, x);

  if (autograd::needs_grad({x, p1, p2, beta})) {
    const Tensor saved_x = view.tensor;
    autograd::record("acon_c", {x, p1, p2, beta}, {y},
                     [x, p1, p2, beta, saved_x, L, P1, P2, B, beta_rows, beta_row_stride](const std::vector<Tensor>& grads) {
      const int64_t C = L.channels;
      const int64_t CP = L.padded_channels();
      const Tensor dy = grads[0].to_desc(saved_x.desc());
      const float* in = saved_x.data<float>();
      const float* g = dy.data<float>();
      const float *a1 = P1.data(), *a2 = P2.data(), *b = B.data();
      // One pass computes dx and the parameter sums together (the sigmoid is the costly part).
      Tensor dx;
      float* out = nullptr;
      if (x.requires_grad()) {
        dx = Tensor::from_desc(saved_x.desc());
        out = dx.data<float>();
      }
      const auto dx_at = [=](int64_t c, int64_t i, float s, float z) {
        const float d = a1[c] - a2[c];
        return g[i] * (d * (s + z * s * (1.0f - s)) + a2[c]);
      };
      if (p1.requires_grad() || p2.requires_grad() || beta.requires_grad()) {
        // Accumulators: [0, CP) dp1, [CP, 2 CP) dp2, then dbeta with beta's rows of CP.
        const std::vector<double> sums =
            reduce_elements(L, 2 * CP + beta_rows * CP, [=](int64_t n, int64_t c, int64_t i, double* acc) {
              const float d = a1[c] - a2[c];
              const float dxv = d * in[i];
              const float z = b[n * beta_row_stride + c] * dxv;
              const float s = sigmoid(z);
              if (out) out[i] = dx_at(c, i, s, z);
              const float gs = s + z * s * (1.0f - s);
              const double gx = static_cast<double>(g[i]) * in[i];
              acc[c] += gx * gs;
              acc[CP + c] += gx * (1.0f - gs);
              acc[2 * CP + n * beta_row_stride + c] += static_cast<double>(g[i]) * dxv * dxv * s * (1.0f - s);
            });
        autograd::accumulate_grad(p1, tensor_from_channel_sums(p1.shape(), sums, 0, 1, C, CP));
        autograd::accumulate_grad(p2, tensor_from_channel_sums(p2.shape(), sums, CP, 1, C, CP));
        // Plain here; accumulate_grad reorders it to beta's layout (meta_acon_c's beta may be blocked).
        autograd::accumulate_grad(beta, tensor_from_channel_sums(beta.shape(), sums, 2 * CP, beta_rows, C, CP));
      } else if (out) {
        for_each_element(L, [=](int64_t n, int64_t c, int64_t i) {
          const float z = b[n * beta_row_stride + c] * ((a1[c] - a2[c]) * in[i]);
          out[i] = dx_at(c, i, sigmoid(z), z);
        });
      }
      if (out) {
        if (L.has_padding()) ops::zero_padding_(dx);
        autograd::accumulate_grad(x, restore_layout(dx, x));
      }
    });
  }
  return y;
}

}  // namespace sugar::activations::learnable
