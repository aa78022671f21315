#pragma once
// Squeeze-and-excitation (Hu et al. 2018) as torchvision.ops.SqueezeExcitation: each channel of x is
// scaled by a gate computed from the whole map,
//   s = gate(fc2(activation(fc1(avgpool(x))))),   y = x * s   (s: [N, C, 1, 1], one factor per sample
//   and channel),
// fc1 a 1x1 convolution C -> squeeze and fc2 squeeze -> C, both with bias (parameters fc1.weight,
// fc1.bias, fc2.weight, fc2.bias, as torchvision names them). MobileNetV3 uses activation ReLU and gate
// hardsigmoid; torchvision's defaults are ReLU and sigmoid. The activation is a site like any other
// (make_activation); the gate stays what it is given.
#include <memory>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::nn {

class SqueezeExcitation : public Module {
 public:
  SqueezeExcitation(int64_t channels, int64_t squeeze_channels,
                    const activations::ActivationSpec& activation = activations::ActivationSpec::parse("relu"),
                    const activations::ActivationSpec& gate = activations::ActivationSpec::parse("sigmoid"));
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SqueezeExcitation"; }
  // The gate s = gate(fc2(activation(fc1(avgpool(x))))), [N, C, 1, 1].
  Tensor scale(const Tensor& x);

 private:
  int64_t channels_;
  std::shared_ptr<Conv2d> fc1_, fc2_;
  std::shared_ptr<ActivationModule> activation_, gate_;
};

}  // namespace sugar::nn
