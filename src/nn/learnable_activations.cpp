// The learnable activations' modules (nn/learnable_activations.hpp): parameters, their initial values
// and the factory table's entries. The math is in the ops (activations/learnable/ops.hpp).
#include "sugar/nn/learnable_activations.hpp"

#include <algorithm>
#include <memory>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/pool.hpp"

namespace sugar::nn {

namespace {

activations::ActivationSpec checked_spec(activations::ActivationSpec spec, const char* row_name) {
  if (!spec.defined()) throw Error(std::string(row_name) + ": the activation spec is undefined", ErrorKind::usage);
  if (spec.name() != row_name)
    throw Error(std::string(row_name) + ": built from a spec of '" + spec.name() + "' (" + spec.to_string() + ")",
                ErrorKind::usage);
  return spec;
}

}  // namespace

LearnableActivation::LearnableActivation(activations::ActivationSpec spec, int64_t channels, const char* row_name)
    : spec_(checked_spec(std::move(spec), row_name)), channels_(channels) {
  if (channels <= 0)
    throw Error(std::string(row_name) + ": needs a positive channel count, got " + std::to_string(channels),
                ErrorKind::usage);
}

void LearnableActivation::check_input(const Tensor& x, bool needs_spatial) const {
  // display_name() is "layer1.0.act1 (PReLU)" inside a model.
  SUGAR_CHECK(x.defined(), display_name(), ": the input tensor is undefined");
  if (needs_spatial)
    SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
                ", H, W], got ", to_string(x.shape()));
  else
    SUGAR_CHECK(x.ndim() >= 2 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
                ", ...], got ", to_string(x.shape()));
}

// PReLU

PReLU::PReLU(activations::ActivationSpec spec, int64_t channels) : LearnableActivation(std::move(spec), channels, "prelu") {
  weight_ = register_parameter("weight", Tensor::full({channels}, static_cast<float>(spec_.number("init"))));
}

void PReLU::reset_parameters(uint64_t) { init::constant_(weight_, static_cast<float>(spec_.number("init"))); }

Tensor PReLU::activate(const Tensor& x) {
  check_input(x, false);
  return activations::learnable::prelu(x, weight_);
}

// ACON-C

AconC::AconC(activations::ActivationSpec spec, int64_t channels) : LearnableActivation(std::move(spec), channels, "acon_c") {
  const Shape shape{1, channels, 1, 1};
  p1_ = register_parameter("p1", Tensor::full(shape, static_cast<float>(spec_.number("p1"))));
  p2_ = register_parameter("p2", Tensor::full(shape, static_cast<float>(spec_.number("p2"))));
  beta_ = register_parameter("beta", Tensor::full(shape, static_cast<float>(spec_.number("beta"))));
}

void AconC::reset_parameters(uint64_t) {
  init::constant_(p1_, static_cast<float>(spec_.number("p1")));
  init::constant_(p2_, static_cast<float>(spec_.number("p2")));
  init::constant_(beta_, static_cast<float>(spec_.number("beta")));
}

Tensor AconC::activate(const Tensor& x) {
  check_input(x, false);
  return activations::learnable::acon_c(x, p1_, p2_, beta_);
}

// Meta-ACON-C: ACON-C whose beta is computed per sample by a small network on the input,
//   beta = sigmoid(fc2(fc1(global_avg_pool(x)))),
// built from existing ops (global average pool, two 1x1 convolutions, the sigmoid row of the
// activation table) and the acon_c op, so every part already has its tested backward.

namespace {

const activations::ActivationSpec& sigmoid_spec() {
  static const activations::ActivationSpec spec = activations::ActivationSpec::parse("sigmoid");
  return spec;
}

}  // namespace

MetaAconC::MetaAconC(activations::ActivationSpec spec, int64_t channels)
    : LearnableActivation(std::move(spec), channels, "meta_acon_c") {
  const auto r = static_cast<int64_t>(spec_.number("r"));
  hidden_ = std::max(r, channels / r);  // the reference code's max(r, width // r)
  const Shape shape{1, channels, 1, 1};
  p1_ = register_parameter("p1", Tensor::full(shape, static_cast<float>(spec_.number("p1"))));
  p2_ = register_parameter("p2", Tensor::full(shape, static_cast<float>(spec_.number("p2"))));
  fc1_ = register_module("fc1", std::make_shared<Conv2d>(channels, hidden_, 1, 1, 0, 1, 1, /*bias=*/true));
  fc2_ = register_module("fc2", std::make_shared<Conv2d>(hidden_, channels, 1, 1, 0, 1, 1, /*bias=*/true));
}

void MetaAconC::reset_parameters(uint64_t) {
  // fc1 and fc2 draw their own weights (nn::Conv2d: Kaiming-normal fan_out, bias 0).
  init::constant_(p1_, static_cast<float>(spec_.number("p1")));
  init::constant_(p2_, static_cast<float>(spec_.number("p2")));
}

Tensor MetaAconC::beta(const Tensor& x) {
  check_input(x, true);
  return activations::apply_activation(sigmoid_spec(), fc2_->forward(fc1_->forward(ops::global_avg_pool2d(x))));
}

Tensor MetaAconC::activate(const Tensor& x) { return activations::learnable::acon_c(x, p1_, p2_, beta(x)); }

// FReLU

FReLU::FReLU(activations::ActivationSpec spec, int64_t channels) : LearnableActivation(std::move(spec), channels, "frelu") {
  conv_ = register_module("conv", std::make_shared<Conv2d>(channels, channels, 3, 1, 1, 1, /*groups=*/channels,
                                                                /*bias=*/false));
  bn_ = register_module("bn", std::make_shared<BatchNorm2d>(channels));
}

Tensor FReLU::activate(const Tensor& x) {
  check_input(x, true);
  return activations::learnable::funnel_max(x, bn_->forward(conv_->forward(x)));
}

// Maxout

namespace {

// Piece 0 is the identity, every other piece the constant 0: max(x, 0, ..., 0) = ReLU.
void fill_relu_pieces(Tensor& a, Tensor& b) {
  float* slopes = a.data<float>();  // a plain [k, C] parameter
  std::fill(slopes, slopes + a.numel(), 0.0f);
  std::fill(slopes, slopes + a.dim(1), 1.0f);
  a.bump_version();  // written in place through data()
  b.fill_(0.0f);
}

}  // namespace

Maxout::Maxout(activations::ActivationSpec spec, int64_t channels) : LearnableActivation(std::move(spec), channels, "maxout") {
  pieces_ = static_cast<int64_t>(spec_.number("k"));
  a_ = register_parameter("a", Tensor::zeros({pieces_, channels}));
  b_ = register_parameter("b", Tensor::zeros({pieces_, channels}));
  fill_relu_pieces(a_, b_);
}

void Maxout::reset_parameters(uint64_t) { fill_relu_pieces(a_, b_); }

Tensor Maxout::activate(const Tensor& x) {
  check_input(x, false);
  return activations::learnable::maxout(x, a_, b_);
}

// The factory table's entries

namespace {

template <class M>
ActivationModuleFactory factory_of() {
  return [](const activations::ActivationSpec& spec, int64_t channels) -> std::shared_ptr<ActivationModule> {
    return std::make_shared<M>(spec, channels);
  };
}

}  // namespace

std::vector<std::pair<std::string, ActivationModuleFactory>> learnable_activation_factories() {
  return {{"prelu", factory_of<PReLU>()},
          {"acon_c", factory_of<AconC>()},
          {"meta_acon_c", factory_of<MetaAconC>()},
          {"frelu", factory_of<FReLU>()},
          {"maxout", factory_of<Maxout>()}};
}

}  // namespace sugar::nn
