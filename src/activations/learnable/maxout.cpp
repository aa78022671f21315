// Maxout over k per-channel affine pieces of one input (the activation form of Goodfellow et al.'s
// maxout): the op, forward and backward side by side (the module that owns a and b:
// nn/learnable_activations).
#include <algorithm>

#include "sugar/ops/channel_layout.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations::learnable {
// The per-channel loops (ChannelLayout, for_each_element, ...: ops/channel_layout.hpp).
using namespace sugar::ops;

namespace {

// The winning piece for input v in channel c: the first j with the largest a[j, c] * v + b[j, c].
// a and b are [k, CP] row-major (CP = padded channels).
inline int64_t winning_piece(float v, int64_t c, const float* a, const float* b, int64_t pieces, int64_t CP) {
  int64_t best_j = 0;
  float best = a[c] * v + b[c];
  for (int64_t j = 1; j < pieces; ++j) {
    const float value = a[j * CP + c] * v + b[j * CP + c];
    if (value > best) {
      best = value;
      best_j = j;
    }
  }
  return best_j;
}

}  // namespace

Tensor maxout(const Tensor& x, const Tensor& a, const Tensor& b) {
  const ChannelView view = channel_view(x, "maxout");
  const ChannelLayout& L = view.layout;
  const int64_t C = L.channels;
  const int64_t CP = L.padded_channels();
  SUGAR_CHECK(a.defined() && b.defined() && a.ndim() == 2 && a.shape() == b.shape() && a.dim(1) == C && a.dim(0) >= 1,
              "maxout: a and b must both be [k, ", C, "] for input ", to_string(x.shape()), ", got a ",
              a.defined() ? to_string(a.shape()) : "undefined", ", b ", b.defined() ? to_string(b.shape()) : "undefined");
  const int64_t pieces = a.dim(0);
  // Padding lanes get a = b = 0 in every piece: y = +0 there.
  const std::vector<float> A = padded_channel_values(a, pieces, C, CP);
  const std::vector<float> B = padded_channel_values(b, pieces, C, CP);

  Tensor y_work = Tensor::from_desc(view.tensor.desc());
  {
    const float* in = view.tensor.data<float>();
    float* out = y_work.data<float>();
    const float *pa = A.data(), *pb = B.data();
    for_each_element(L, [=](int64_t, int64_t c, int64_t i) {
      const int64_t j = winning_piece(in[i], c, pa, pb, pieces, CP);
      out[i] = pa[j * CP + c] * in[i] + pb[j * CP + c];
    });
    if (L.has_padding()) ops::zero_padding_(y_work);
  }
  Tensor y = restore_layout(y_work, x);

  if (autograd::needs_grad({x, a, b})) {
    const Tensor saved_x = view.tensor;
    autograd::record("maxout", {x, a, b}, {y}, [x, a, b, saved_x, L, A, B, pieces](const std::vector<Tensor>& grads) {
      const int64_t C = L.channels;
      const int64_t CP = L.padded_channels();
      const Tensor dy = grads[0].to_desc(saved_x.desc());
      const float* in = saved_x.data<float>();
      const float* g = dy.data<float>();
      const float *pa = A.data(), *pb = B.data();
      // One pass computes dx and the parameter sums together (finding the winner is the costly part).
      Tensor dx;
      float* out = nullptr;
      if (x.requires_grad()) {
        dx = Tensor::from_desc(saved_x.desc());
        out = dx.data<float>();
      }
      if (a.requires_grad() || b.requires_grad()) {
        // Accumulators: da as [k, CP], then db as [k, CP].
        const std::vector<double> sums =
            reduce_elements(L, 2 * pieces * CP, [=](int64_t, int64_t c, int64_t i, double* acc) {
              const int64_t at = winning_piece(in[i], c, pa, pb, pieces, CP) * CP + c;
              if (out) out[i] = g[i] * pa[at];
              acc[at] += static_cast<double>(g[i]) * in[i];
              acc[pieces * CP + at] += g[i];
            });
        autograd::accumulate_grad(a, tensor_from_channel_sums(a.shape(), sums, 0, pieces, C, CP));
        autograd::accumulate_grad(b, tensor_from_channel_sums(b.shape(), sums, pieces * CP, pieces, C, CP));
      } else if (out) {
        for_each_element(L, [=](int64_t, int64_t c, int64_t i) {
          out[i] = g[i] * pa[winning_piece(in[i], c, pa, pb, pieces, CP) * CP + c];
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
