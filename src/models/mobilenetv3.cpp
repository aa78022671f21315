#include "sugar/models/mobilenetv3.hpp"

#include <algorithm>

#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/squeeze_excitation.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {

namespace {

using activations::ActivationSpec;

const ActivationSpec& spec_of(const char* text) {
  static const ActivationSpec relu = ActivationSpec::parse("relu");
  static const ActivationSpec hardswish = ActivationSpec::parse("hardswish");
  return std::string_view(text) == "relu" ? relu : hardswish;
}

// The site's activation: the configured spec, or the design's (`hardswish` true: HS, else RE).
ActivationSpec site(const ActivationSpec& configured, bool hardswish) {
  return configured.defined() ? configured : spec_of(hardswish ? "hardswish" : "relu");
}

// torchvision's Conv2dNormActivation: Conv2d (no bias) - BatchNorm2d(eps 0.001, momentum 0.01) - the
// activation when given.
std::shared_ptr<nn::Sequential> conv_norm_activation(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                                     int64_t groups, const ActivationSpec* activation) {
  auto layers = std::make_shared<nn::Sequential>();
  layers->push_back(std::make_shared<nn::Conv2d>(in, out, kernel, stride, (kernel - 1) / 2, 1, groups, false));
  nn::BatchNorm2dOptions bn;
  bn.eps = 1e-3f;
  bn.momentum = 0.01f;
  layers->push_back(std::make_shared<nn::BatchNorm2d>(out, bn));
  if (activation != nullptr) layers->push_back(nn::make_activation(*activation, out));
  return layers;
}

}  // namespace

int64_t make_divisible(double v, int64_t divisor) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

MobileNetV3Options mobilenetv3_size(std::string_view name) {
  MobileNetV3Options o;
  const bool RE = false, HS = true;
  if (name == "mobilenetv3_small") {
    o.blocks = {{16, 3, 16, 16, true, RE, 2},   {16, 3, 72, 24, false, RE, 2},  {24, 3, 88, 24, false, RE, 1},
                {24, 5, 96, 40, true, HS, 2},   {40, 5, 240, 40, true, HS, 1},  {40, 5, 240, 40, true, HS, 1},
                {40, 5, 120, 48, true, HS, 1},  {48, 5, 144, 48, true, HS, 1},  {48, 5, 288, 96, true, HS, 2},
                {96, 5, 576, 96, true, HS, 1},  {96, 5, 576, 96, true, HS, 1}};
    o.last_channel = 1024;
  } else if (name == "mobilenetv3_large") {
    o.blocks = {{16, 3, 16, 16, false, RE, 1},    {16, 3, 64, 24, false, RE, 2},    {24, 3, 72, 24, false, RE, 1},
                {24, 5, 72, 40, true, RE, 2},     {40, 5, 120, 40, true, RE, 1},    {40, 5, 120, 40, true, RE, 1},
                {40, 3, 240, 80, false, HS, 2},   {80, 3, 200, 80, false, HS, 1},   {80, 3, 184, 80, false, HS, 1},
                {80, 3, 184, 80, false, HS, 1},   {80, 3, 480, 112, true, HS, 1},   {112, 3, 672, 112, true, HS, 1},
                {112, 5, 672, 160, true, HS, 2},  {160, 5, 960, 160, true, HS, 1},  {160, 5, 960, 160, true, HS, 1}};
    o.last_channel = 1280;
  } else {
    usage_error("mobilenetv3_size: unknown MobileNetV3 '" + std::string(name) +
                "' (mobilenetv3_small, mobilenetv3_large)");
  }
  return o;
}

InvertedResidual::InvertedResidual(const InvertedResidualSetting& s, const ActivationSpec& activation)
    : residual_(s.stride == 1 && s.input_channels == s.out_channels) {
  const ActivationSpec act = site(activation, s.hardswish);
  block_ = register_module("block", std::make_shared<nn::Sequential>());
  if (s.expanded_channels != s.input_channels)
    block_->push_back(conv_norm_activation(s.input_channels, s.expanded_channels, 1, 1, 1, &act));
  block_->push_back(
      conv_norm_activation(s.expanded_channels, s.expanded_channels, s.kernel, s.stride, s.expanded_channels, &act));
  if (s.use_se) {
    block_->push_back(std::make_shared<nn::SqueezeExcitation>(
        s.expanded_channels, make_divisible(static_cast<double>(s.expanded_channels / 4)), site(activation, false),
        ActivationSpec::parse("hardsigmoid")));
  }
  block_->push_back(conv_norm_activation(s.expanded_channels, s.out_channels, 1, 1, 1, nullptr));
}

Tensor InvertedResidual::forward(const Tensor& x) {
  const Tensor y = block_->forward(x);
  return residual_ ? ops::add(y, x) : y;
}

MobileNetV3::MobileNetV3(const MobileNetV3Options& options) : options_(options) {
  const MobileNetV3Options& o = options_;
  if (o.blocks.empty()) usage_error("MobileNetV3: no blocks");
  if (o.num_classes <= 0) usage_error("MobileNetV3: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("MobileNetV3: in_channels must be positive, got " + std::to_string(o.in_channels));
  int64_t side = o.image_size;
  for (const InvertedResidualSetting& s : o.blocks) side = (side + s.stride - 1) / s.stride;
  if (o.image_size <= 0 || side < 1)
    usage_error("MobileNetV3: images of " + std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                " are too small");
  if (!(o.dropout >= 0.0f && o.dropout < 1.0f))
    usage_error("MobileNetV3: dropout must be in [0, 1), got " + std::to_string(o.dropout));

  const ActivationSpec hardswish_site = site(o.activation, true);
  features_ = register_module("features", std::make_shared<nn::Sequential>());
  features_->push_back(conv_norm_activation(o.in_channels, o.blocks.front().input_channels, 3, 1, 1, &hardswish_site));
  for (const InvertedResidualSetting& s : o.blocks) features_->push_back(std::make_shared<InvertedResidual>(s, o.activation));
  const int64_t last_in = o.blocks.back().out_channels;
  features_->push_back(conv_norm_activation(last_in, 6 * last_in, 1, 1, 1, &hardswish_site));
  classifier_ = register_module("classifier", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                                  std::make_shared<nn::Linear>(6 * last_in, o.last_channel),
                                                  nn::make_activation(hardswish_site, o.last_channel),
                                                  std::make_shared<nn::Dropout>(o.dropout),
                                                  std::make_shared<nn::Linear>(o.last_channel, o.num_classes)}));
}

Tensor MobileNetV3::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels, display_name(), ": expected input [N, ",
              options_.in_channels, ", H, W], got ", to_string(x.shape()));
  return classifier_->forward(ops::flatten(ops::global_avg_pool2d(features_->forward(x))));
}

}  // namespace sugar::models
