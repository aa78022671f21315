#pragma once
// MobileNetV3 (Howard et al. 2019) as torchvision.models.MobileNetV3 builds it (width 1.0), with the
// names of its state_dict, adapted to small images in one documented place (the stem):
//
//   features.0   stem: Conv2d(in, 16, 3, stride 1, padding 1, no bias) - BatchNorm2d - hardswish
//   features.1 .. features.k   InvertedResidual blocks (the settings of torchvision's
//                _mobilenet_v3_conf: kernel, expanded width, output width, SE, activation, stride)
//   features.k+1 Conv2d(C, 6C, 1) - BatchNorm2d - hardswish
//   avgpool      the mean of each channel of the final map
//   classifier   Linear(6C, last) - hardswish - Dropout(0.2) - Linear(last, classes); last = 1024 (small)
//                or 1280 (large)
//
// InvertedResidual: block.0 expansion Conv2d 1x1 - BN - activation (left out where the expanded width
// equals the input's), then depthwise Conv2d k x k (stride s, groups = width) - BN - activation, then
// SqueezeExcitation(width, make_divisible(width / 4, 8), ReLU, hardsigmoid gate) where the setting
// says so, then the projection Conv2d 1x1 - BN (no activation); the input is added back when the
// stride is 1 and the widths agree. Convolutions have no bias; batch norms eps 0.001, momentum 0.01.
//
// Activation sites: with model.activation `design` (MobileNetV3's default), each site is what the paper
// puts there: ReLU ("RE") or hardswish ("HS") in the blocks, ReLU inside the SE layers, hardswish in the
// stem, the last convolution and the classifier. Any other spec is placed at every site; the SE gates
// stay hardsigmoid.
//
// The stem: torchvision's has stride 2 (224x224 ImageNet images give 112x112 before the blocks, and a
// total stride of 32). Sugar's has stride 1, so a 32x32 image ends as a 2x2 map instead of 1x1; the
// weights keep torchvision's shapes, so a checkpoint strict-loads into torchvision's class.
//
// Initialisation (model.init torchvision_mobilenet, this family's default): convolutions
// kaiming_normal_(mode='fan_out'), linear weights N(0, 0.01), biases 0; batch norms 1 and 0.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sequential.hpp"

namespace sugar::models {

// One row of torchvision's inverted_residual_setting.
struct InvertedResidualSetting {
  int64_t input_channels, kernel, expanded_channels, out_channels;
  bool use_se;
  bool hardswish;  // "HS"; false: "RE"
  int64_t stride;
};

struct MobileNetV3Options {
  std::vector<InvertedResidualSetting> blocks;
  int64_t last_channel = 1024;
  float dropout = 0.2f;
  activations::ActivationSpec activation;  // undefined: the design's activation at each site
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;
};

// mobilenetv3_small and mobilenetv3_large; sugar::Error (usage) for another name.
MobileNetV3Options mobilenetv3_size(std::string_view name);

// torchvision's _make_divisible(v, 8): v rounded to the nearest multiple of 8, at least 8, and not
// more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8);

class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(const InvertedResidualSetting& setting, const activations::ActivationSpec& activation);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "InvertedResidual"; }

 private:
  bool residual_;
  std::shared_ptr<nn::Sequential> block_;
};

class MobileNetV3 : public nn::Module {
 public:
  explicit MobileNetV3(const MobileNetV3Options& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MobileNetV3"; }

 private:
  MobileNetV3Options options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
};

}  // namespace sugar::models
