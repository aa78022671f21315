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
  const int64_t C = L.channels, padded = L.padded_channels();
  // One row of C factors for every sample, or one row per sample ([N, C, 1, 1]).
  // A batch of one: an [1, C, 1, 1] gate is both, and either reading gives the same factors.
  const bool per_sample = gamma.defined() && gamma.ndim() == 4 && gamma.dim(0) == L.batch && gamma.dim(1) == C &&
                          gamma.numel() == L.batch * C;
  SUGAR_CHECK(gamma.defined() && (gamma.numel() == C || per_sample), "channel_scale: gamma must hold one factor per channel (",
              C, " values) or per sample and channel ([", L.batch, ", ", C, ", 1, 1]), got ",
              gamma.defined() ? to_string(gamma.shape()) : std::string("undefined"), " for input ", to_string(x.shape()));
  const int64_t rows = per_sample ? L.batch : 1;
  const int64_t row_stride = per_sample ? padded : 0;
  // Read through to_vector: any shape holding the values, any layout (a gate is a blocked conv output).
  const std::vector<float> factors = padded_channel_values(gamma, rows, C, padded);
  const float* g = factors.data();
  const auto factor_of = [g, row_stride](int64_t n, int64_t c) { return g[n * row_stride + c]; };
  Tensor y = multiply(view.tensor, L, factor_of, x.desc());

  if (autograd::needs_grad({x, gamma})) {
    // dgamma reads x; dx reads only the factors.
    const Tensor saved_x = gamma.requires_grad() ? view.tensor : Tensor();
    autograd::record(
        "channel_scale", {x, gamma}, {y},
        [x_grad = autograd::grad_target(x), wants_x = x.requires_grad(), x_desc = x.desc(),
         gamma_grad = autograd::grad_target(gamma), gamma_shape = gamma.shape(), saved_x, L, rows, row_stride, factors,
         view_desc = view.tensor.desc()](const std::vector<Tensor>& grads) {
          const Tensor dy = grads[0].to_desc(view_desc);
          const float* f = factors.data();
          const auto factor_of = [f, row_stride](int64_t n, int64_t c) { return f[n * row_stride + c]; };
          if (wants_x) autograd::accumulate_grad(x_grad, multiply(dy, L, factor_of, x_desc));
          if (saved_x.defined()) {
            const float* in = saved_x.data<float>();
            const float* d = dy.data<float>();
            const int64_t padded = L.padded_channels();
            const std::vector<double> sums =
                reduce_elements(L, static_cast<size_t>(rows * padded), [=](int64_t n, int64_t c, int64_t i, double* acc) {
                  acc[n * row_stride + c] += static_cast<double>(in[i]) * d[i];
                });
            autograd::accumulate_grad(gamma_grad,
                                      tensor_from_channel_sums(gamma_shape, sums, 0, rows, L.channels, padded));
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
