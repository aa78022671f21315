#pragma once
// CIFAR ResNet as in kuangliu/pytorch-cifar (models/resnet.py), the de-facto reference:
//
//   conv1  Conv2d(in, 64, 3, stride 1, padding 1, no bias), bn1, act1   (no max-pool: 32x32 stays)
//   layer1..layer4: BasicBlocks with 64/128/256/512 channels, first block's stride 1/2/2/2
//   average pool over the final map, linear = Linear(512, classes)
//
// BasicBlock: conv1 (3x3, stride s) - bn1 - act1 - conv2 (3x3) - bn2, plus the shortcut, then act2.
// The shortcut is `shortcut.0` Conv2d(in, planes, 1, stride s, no bias) + `shortcut.1` BatchNorm2d
// when the shape changes (s != 1 or in != planes), the identity otherwise. The sum keeps the blocked
// layout of the convolution (ops::add), so no reorder happens between blocks.
//
// Names are PyTorch's state_dict names: conv1.weight, bn1.running_mean, layer1.0.conv1.weight,
// layer2.0.shortcut.0.weight, layer2.0.shortcut.1.running_var, linear.weight. The activation sites
// (nn::ActivationModule, parameter-free in PyTorch's F.relu) are act1, layerL.B.act1, layerL.B.act2.
//
// Pooling: kuangliu applies avg_pool2d(out, 4) to the 4x4 map a 32x32 image leaves. Sugar averages
// the whole final map (AdaptiveAvgPool2d(1) semantics): the same numbers whenever the map is 4x4
// (inputs of 25..32 pixels, e.g. 28x28 MNIST), and still 512 features for any other image size, where
// avg_pool2d(4) would break the classifier.
#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sequential.hpp"

namespace sugar::models {

class BasicBlock : public nn::Module {
 public:
  static constexpr int64_t expansion = 1;

  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, const activations::ActivationSpec& activation);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }

  // Null when the shortcut is the identity.
  const std::shared_ptr<nn::Sequential>& shortcut() const { return shortcut_; }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_;
  std::shared_ptr<nn::ActivationModule> act1_, act2_;
  std::shared_ptr<nn::Sequential> shortcut_;
};

// BasicBlocks per stage: resnet18 {2, 2, 2, 2}, resnet34 {3, 4, 6, 3}; sugar::Error (usage) otherwise.
std::array<int64_t, 4> resnet_blocks(std::string_view name);

struct ResNetOptions {
  std::array<int64_t, 4> blocks{2, 2, 2, 2};
  activations::ActivationSpec activation;  // every site's activation (required)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;  // side of the square input images (any positive size, see above)
};

class ResNet : public nn::Module {
 public:
  // Throws sugar::Error (usage) on an invalid option (names the option and value).
  explicit ResNet(const ResNetOptions& options);

  // x [N, in_channels, H, W] -> logits [N, num_classes].
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNet"; }

  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  std::shared_ptr<nn::Conv2d> conv1_;
  std::shared_ptr<nn::BatchNorm2d> bn1_;
  std::shared_ptr<nn::ActivationModule> act1_;
  std::array<std::shared_ptr<nn::Sequential>, 4> layers_;
  std::shared_ptr<nn::Linear> linear_;
};

}  // namespace sugar::models
