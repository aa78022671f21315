// Meta-ACON-C: ACON-C whose beta is computed per sample by a small network on the input,
//   beta = sigmoid(fc2(fc1(global_avg_pool(x)))),
// built from existing ops (global average pool, two 1x1 convolutions, the sigmoid row of the
// activation table) and the acon_c op, so every part already has its tested backward.
#include <algorithm>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/learnable/modules.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/pool.hpp"

namespace sugar::activations::learnable {

namespace {

const ActivationSpec& sigmoid_spec() {
  static const ActivationSpec spec = ActivationSpec::parse("sigmoid");
  return spec;
}

}  // namespace

MetaAconC::MetaAconC(ActivationSpec spec, int64_t channels)
    : LearnableActivation(std::move(spec), channels, "meta_acon_c") {
  const auto r = static_cast<int64_t>(spec_.number("r"));
  hidden_ = std::max(r, channels / r);  // the reference code's max(r, width // r)
  const Shape shape{1, channels, 1, 1};
  p1_ = register_parameter("p1", Tensor::full(shape, static_cast<float>(spec_.number("p1"))));
  p2_ = register_parameter("p2", Tensor::full(shape, static_cast<float>(spec_.number("p2"))));
  fc1_ = register_module("fc1", std::make_shared<nn::Conv2d>(channels, hidden_, 1, 1, 0, 1, 1, /*bias=*/true));
  fc2_ = register_module("fc2", std::make_shared<nn::Conv2d>(hidden_, channels, 1, 1, 0, 1, 1, /*bias=*/true));
}

void MetaAconC::reset_parameters(uint64_t) {
  // fc1 and fc2 draw their own weights (nn::Conv2d: Kaiming-normal fan_out, bias 0).
  nn::init::constant_(p1_, static_cast<float>(spec_.number("p1")));
  nn::init::constant_(p2_, static_cast<float>(spec_.number("p2")));
}

Tensor MetaAconC::beta(const Tensor& x) {
  check_input(x, true);
  return apply_activation(sigmoid_spec(), fc2_->forward(fc1_->forward(ops::global_avg_pool2d(x))));
}

Tensor MetaAconC::activate(const Tensor& x) { return acon_c(x, p1_, p2_, beta(x)); }

}  // namespace sugar::activations::learnable
