// Per-channel and per-sample multiplications, forward and backward side by side, on the channel loops
// of ops/channel_layout.hpp.
#include "sugar/ops/scale.hpp"

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/channel_layout.hpp"

namespace sugar::ops {

namespace {

// y[i] = in[i] * factor(n, c) over a channel view, returned in `layout` (x's: layout and data type).
// Padding lanes stay zero: the padded factor arrays hold 0 there, and the input's padding is 0.
template <class Factor>
Tensor multiply(const Tensor& view, const ChannelLayout& L, Factor factor, const memory::desc& layout) {
  Tensor y = Tensor::from_desc(view.desc());
  const float* in = view.data<float>();
  float* out = y.data<float>();
  for_each_element(L, [=](int64_t n, int64_t c, int64_t i) { out[i] = in[i] * factor(n, c); });
  return y.desc() == layout ? y : y.to_desc(layout);
}

}  // namespace

Tensor channel_scale(const Tensor& x, const Tensor& gamma) {
  const ChannelView view = channel_view(x, "channel_scale");
  const ChannelLayout& L = view.layout;
  SUGAR_CHECK(gamma.defined() && gamma.numel() == L.channels, "channel_scale: gamma must hold one factor per channel (",
              L.channels, "), got ", gamma.defined() ? to_string(gamma.shape()) : std::string("undefined"),
              " for input ", to_string(x.shape()));
  const std::vector<float> factors = padded_channel_values(gamma.reshape({gamma.numel()}), 1, L.channels,
                                                           L.padded_channels());
  const float* g = factors.data();
  Tensor y = multiply(view.tensor, L, [g](int64_t, int64_t c) { return g[c]; }, x.desc());

  if (autograd::needs_grad({x, gamma})) {
    // dgamma reads x; dx reads only the factors.
    const Tensor saved_x = gamma.requires_grad() ? view.tensor : Tensor();
    autograd::record("channel_scale", {x, gamma}, {y},
                     [x_grad = autograd::grad_target(x), wants_x = x.requires_grad(), x_desc = x.desc(), gamma,
                      saved_x, L, factors, view_desc = view.tensor.desc()](const std::vector<Tensor>& grads) {
                       const Tensor dy = grads[0].to_desc(view_desc);
                       const float* f = factors.data();
                       if (wants_x)
                         autograd::accumulate_grad(x_grad,
                                                   multiply(dy, L, [f](int64_t, int64_t c) { return f[c]; }, x_desc));
                       if (saved_x.defined()) {
                         const float* in = saved_x.data<float>();
                         const float* d = dy.data<float>();
                         const std::vector<double> sums = reduce_elements(
                             L, L.padded_channels(),
                             [=](int64_t, int64_t c, int64_t i, double* acc) { acc[c] += static_cast<double>(in[i]) * d[i]; });
                         autograd::accumulate_grad(
                             gamma, tensor_from_channel_sums(gamma.shape(), sums, 0, 1, L.channels, L.padded_channels()));
                       }
                     });
  }
  return y;
}

Tensor sample_scale(const Tensor& x, const std::vector<float>& factors) {
  const ChannelView view = channel_view(x, "sample_scale");
  SUGAR_CHECK(static_cast<int64_t>(factors.size()) == view.layout.batch, "sample_scale: ", factors.size(),
              " factors for a batch of ", view.layout.batch, " (input ", to_string(x.shape()), ")");
  const float* f = factors.data();
  Tensor y = multiply(view.tensor, view.layout, [f](int64_t n, int64_t) { return f[n]; }, x.desc());
  if (autograd::needs_grad({x})) {
    autograd::record("sample_scale", {x}, {y},
                     [x_grad = autograd::grad_target(x), x_desc = x.desc(), L = view.layout, factors,
                      view_desc = view.tensor.desc()](const std::vector<Tensor>& grads) {
                       const float* f = factors.data();
                       autograd::accumulate_grad(
                           x_grad, multiply(grads[0].to_desc(view_desc), L, [f](int64_t n, int64_t) { return f[n]; }, x_desc));
                     });
  }
  return y;
}

}  // namespace sugar::ops
