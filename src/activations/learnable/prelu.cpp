// PReLU: the op, forward and backward side by side (the module that owns the weight: nn/learnable_activations).
#include "sugar/ops/channel_layout.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations::learnable {
// The per-channel loops (ChannelLayout, for_each_element, ...: ops/channel_layout.hpp).
using namespace sugar::ops;

Tensor prelu(const Tensor& x, const Tensor& weight) {
  const ChannelView view = channel_view(x, "prelu");
  const ChannelLayout& L = view.layout;
  SUGAR_CHECK(weight.defined() && weight.numel() == L.channels, "prelu: weight must hold one slope per channel (",
              L.channels, "), got ", weight.defined() ? to_string(weight.shape()) : std::string("undefined"),
              " for input ", to_string(x.shape()));
  // Padding lanes get slope 0, so they map 0 to +0.
  const std::vector<float> slopes = padded_channel_values(weight, 1, L.channels, L.padded_channels());

  Tensor y_work = Tensor::from_desc(view.tensor.desc());
  {
    const float* in = view.tensor.data<float>();
    float* out = y_work.data<float>();
    const float* a = slopes.data();
    for_each_element(L, [=](int64_t, int64_t c, int64_t i) { out[i] = in[i] > 0.0f ? in[i] : a[c] * in[i]; });
  }
  Tensor y = restore_layout(y_work, x);

  if (autograd::needs_grad({x, weight})) {
    const Tensor saved_x = view.tensor;
    autograd::record("prelu", {x, weight}, {y}, [x, weight, saved_x, L, slopes](const std::vector<Tensor>& grads) {
      const Tensor dy = grads[0].to_desc(saved_x.desc());
      const float* in = saved_x.data<float>();
      const float* g = dy.data<float>();
      const float* a = slopes.data();
      if (x.requires_grad()) {
        Tensor dx = Tensor::from_desc(saved_x.desc());
        float* out = dx.data<float>();
        for_each_element(L, [=](int64_t, int64_t c, int64_t i) { out[i] = in[i] > 0.0f ? g[i] : a[c] * g[i]; });
        if (L.has_padding()) ops::zero_padding_(dx);
        autograd::accumulate_grad(x, restore_layout(dx, x));
      }
      if (weight.requires_grad()) {
        const std::vector<double> sums =
            reduce_elements(L, L.padded_channels(), [=](int64_t, int64_t c, int64_t i, double* acc) {
              if (!(in[i] > 0.0f)) acc[c] += static_cast<double>(in[i]) * g[i];
            });
        autograd::accumulate_grad(weight,
                                  tensor_from_channel_sums(weight.shape(), sums, 0, 1, L.channels, L.padded_channels()));
      }
    });
  }
  return y;
}

}  // namespace sugar::activations::learnable
