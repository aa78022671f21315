#include "sugar/models/resnet.hpp"

#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {

namespace {

std::shared_ptr<nn::Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
  return std::make_shared<nn::Conv2d>(in, out, 3, stride, 1, 1, 1, /*bias=*/false);
}

constexpr std::array<int64_t, 4> kStageWidths{64, 128, 256, 512};
constexpr std::array<int64_t, 4> kStageStrides{1, 2, 2, 2};

}  // namespace

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride,
                       const activations::ActivationSpec& activation) {
  // Registration order is PyTorch's attribute order, which fixes the state_dict order.
  conv1_ = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(planes));
  act1_ = register_module("act1", nn::make_activation(activation, planes));
  conv2_ = register_module("conv2", conv3x3(planes, planes, 1));
  bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(planes));
  if (stride != 1 || in_planes != expansion * planes) {
    shortcut_ = register_module(
        "shortcut", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                        std::make_shared<nn::Conv2d>(in_planes, expansion * planes, 1, stride, 0, 1, 1, false),
                        std::make_shared<nn::BatchNorm2d>(expansion * planes)}));
  }
  act2_ = register_module("act2", nn::make_activation(activation, planes));
}

Tensor BasicBlock::forward(const Tensor& x) {
  // conv_bn_activation: act(bn(conv(x))), one fused convolution in evaluation (nn/fused_inference.hpp).
  Tensor out = nn::conv_bn_activation(*conv1_, bn1_.get(), act1_.get(), x);
  out = nn::conv_bn_activation(*conv2_, bn2_.get(), nullptr, out);
  out = ops::add(out, shortcut_ ? shortcut_->forward(x) : x);
  return act2_->forward(out);
}

std::array<int64_t, 4> resnet_blocks(std::string_view name) {
  if (name == "resnet18") return {2, 2, 2, 2};
  if (name == "resnet34") return {3, 4, 6, 3};
  usage_error("resnet_blocks: unknown ResNet '" + std::string(name) + "' (resnet18, resnet34)");
}

ResNet::ResNet(const ResNetOptions& options) : options_(options) {
  const ResNetOptions& o = options_;
  if (!o.activation.defined()) usage_error("ResNet: no activation spec given");
  if (o.num_classes <= 0) usage_error("ResNet: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("ResNet: in_channels must be positive, got " + std::to_string(o.in_channels));
  if (o.image_size <= 0) usage_error("ResNet: image_size must be positive, got " + std::to_string(o.image_size));
  for (int64_t count : o.blocks)
    if (count <= 0) usage_error("ResNet: every stage needs at least one block, got " + std::to_string(count));

  conv1_ = register_module("conv1", conv3x3(o.in_channels, kStageWidths[0], 1));
  bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(kStageWidths[0]));
  act1_ = register_module("act1", nn::make_activation(o.activation, kStageWidths[0]));
  int64_t in_planes = kStageWidths[0];
  for (size_t stage = 0; stage < 4; ++stage) {
    auto layer = std::make_shared<nn::Sequential>();
    for (int64_t b = 0; b < o.blocks[stage]; ++b) {
      const int64_t stride = b == 0 ? kStageStrides[stage] : 1;
      layer->push_back(std::make_shared<BasicBlock>(in_planes, kStageWidths[stage], stride, o.activation));
      in_planes = kStageWidths[stage] * BasicBlock::expansion;
    }
    layers_[stage] = register_module("layer" + std::to_string(stage + 1), layer);
  }
  linear_ = register_module("linear", std::make_shared<nn::Linear>(in_planes, o.num_classes));
}

Tensor ResNet::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels, display_name(), ": expected input [N, ",
              options_.in_channels, ", H, W], got ", to_string(x.shape()));
  Tensor out = nn::conv_bn_activation(*conv1_, bn1_.get(), act1_.get(), x);
  for (auto& layer : layers_) out = layer->forward(out);
  // Equal to kuangliu's avg_pool2d(out, 4) on the 4x4 map of a 32x32 input; see the header.
  return linear_->forward(ops::flatten(ops::global_avg_pool2d(out)));
}

}  // namespace sugar::models
