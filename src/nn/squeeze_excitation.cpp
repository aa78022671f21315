#include "sugar/nn/squeeze_excitation.hpp"

#include "sugar/error.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/ops/scale.hpp"

namespace sugar::nn {

SqueezeExcitation::SqueezeExcitation(int64_t channels, int64_t squeeze_channels,
                                     const activations::ActivationSpec& activation,
                                     const activations::ActivationSpec& gate)
    : channels_(channels) {
  SUGAR_CHECK(channels > 0 && squeeze_channels > 0, "SqueezeExcitation: channel counts must be positive, got ",
              channels, " and ", squeeze_channels);
  // torchvision's order of registration: avgpool (no parameters), fc1, fc2, activation, scale_activation.
  fc1_ = register_module("fc1", std::make_shared<Conv2d>(channels, squeeze_channels, 1));
  fc2_ = register_module("fc2", std::make_shared<Conv2d>(squeeze_channels, channels, 1));
  activation_ = register_module("activation", make_activation(activation, squeeze_channels));
  gate_ = register_module("scale_activation", make_activation(gate, channels));
}

Tensor SqueezeExcitation::scale(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
              ", H, W], got ", to_string(x.shape()));
  return (*gate_)(fc2_->forward((*activation_)(fc1_->forward(ops::global_avg_pool2d(x)))));
}

Tensor SqueezeExcitation::forward(const Tensor& x) { return ops::channel_scale(x, scale(x)); }

}  // namespace sugar::nn
