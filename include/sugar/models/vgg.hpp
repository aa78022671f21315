#pragma once
// CIFAR VGG as in kuangliu/pytorch-cifar (models/vgg.py), the de-facto reference:
//
//   features   = for each cfg entry: a number c -> Conv2d(in, c, 3, padding=1, bias) [+ BatchNorm2d(c)]
//                + activation; M -> MaxPool2d(2, 2); then one pooling module that averages what is
//                left of the map (see below)
//   classifier = Linear(512, classes) on the flattened 512 x 1 x 1 map (the last conv width, for a
//                custom cfg)
//
// Children are numbered as PyTorch's nn.Sequential numbers them, so names read `features.0.weight`,
// `features.1.running_var`, `classifier.weight`, and the activation sites are `features.2`,
// `features.5`, ... (`features.1`, `features.3`, ... without batch norm).
//
// The final pooling module: kuangliu appends AvgPool2d(kernel_size=1, stride=1), a no-op on the 1x1
// map that five max-pools leave of a 32x32 image. Sugar puts AdaptiveAvgPool2d(1) at that index:
// identical on 32x32 inputs (same names, same parameter count, same values), and for larger images
// it averages the remaining map, so that the classifier still sees 512 features. Images must be at
// least 32x32 (2^k for a cfg with k max-pools); smaller ones are a usage error.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sequential.hpp"

namespace sugar::models {

// A cfg entry that stands for a 2x2 max-pool ('M' in kuangliu's cfg); other entries are conv widths.
inline constexpr int64_t kVggMaxPool = 0;

// The cfg of vgg11, vgg13, vgg16 or vgg19; sugar::Error (usage) for any other name.
const std::vector<int64_t>& vgg_layers(std::string_view name);

// The smallest image side a cfg takes: each 2x2 max-pool halves the map (rounding down), so k pools
// need 2^k pixels (32 for the standard cfgs' five).
int64_t vgg_min_image_size(const std::vector<int64_t>& layers);

struct VggOptions {
  std::vector<int64_t> layers;              // a cfg, e.g. vgg_layers("vgg16")
  activations::ActivationSpec activation;   // every site's activation (required)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;                  // side of the square input images, >= 32 (2^max-pools)
  bool batch_norm = true;                   // false: conv + activation, no BatchNorm2d
};

class VGG : public nn::Module {
 public:
  // Throws sugar::Error (usage) on an invalid option (names the option and value).
  explicit VGG(const VggOptions& options);

  // x [N, in_channels, H, W] -> logits [N, num_classes].
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "VGG"; }

  const VggOptions& options() const { return options_; }
  nn::Sequential& features() const { return *features_; }
  nn::Linear& classifier() const { return *classifier_; }

 private:
  VggOptions options_;
  std::shared_ptr<nn::Sequential> features_;
  std::shared_ptr<nn::Linear> classifier_;
};

}  // namespace sugar::models
