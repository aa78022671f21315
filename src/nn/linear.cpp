#include "sugar/nn/linear.hpp"


#include "sugar/error.hpp"
#include "sugar/nn/direct_flops.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/conv2d.hpp"
#include "sugar/ops/linear.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : in_features_(in_features), out_features_(out_features) {
  SUGAR_CHECK(in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got in_features ",
              in_features, ", out_features ", out_features);
  weight_ = register_parameter("weight", Tensor::zeros({out_features, in_features}));
  if (bias) bias_ = register_parameter("bias", Tensor::zeros({out_features}));
}

void Linear::reset_parameters(uint64_t seed) {
  if (init_ == init::ConvInit::trunc_normal || init_ == init::ConvInit::torchvision_mobilenet) {
    if (init_ == init::ConvInit::trunc_normal)
      init::trunc_normal_(weight_, 0.0, 0.02, -2.0, 2.0, init::init_stream(weight_, seed));
    else
      init::normal_(weight_, 0.0, 0.01, init::init_stream(weight_, seed));
    if (bias_.defined()) init::constant_(bias_, 0.0f);
    return;
  }
  init::kaiming_uniform_default_(weight_, init::init_stream(weight_, seed));
  if (bias_.defined()) init::uniform_default_bias_(bias_, weight_, init::init_stream(bias_, seed));
}

Tensor Linear::forward(const Tensor& x) {
  SUGAR_CHECK(is_initialized(), display_name(),
              ": parameters are not initialised; call sugar::nn::initialize(model, seed) once the model is built");
  SUGAR_CHECK((x.ndim() == 2 || x.ndim() == 4) && x.dim(1) == in_features_, display_name(), ": expected input [N, ",
              in_features_, "] or a map [N, ", in_features_, ", H, W], got ", to_string(x.shape()));
  if (x.ndim() == 4) {
    last_call_ = LayerCall{x.dim(0) * x.dim(2) * x.dim(3), x.requires_grad()};
    return ops::conv2d(x, ops::reshape(weight_, {out_features_, in_features_, 1, 1}), bias_, ops::Conv2dOptions{});
  }
  last_call_ = LayerCall{x.dim(0), x.requires_grad()};
  return ops::linear(x, weight_, bias_);
}

void Linear::count_flops(DirectFlops& totals) const { add_layer_flops(totals, *this, last_call_, weight_.numel()); }

}  // namespace sugar::nn
