#pragma once
// ConvNeXt (Liu et al. 2022) as torchvision.models.ConvNeXt builds it, with the parameter names of its
// state_dict, adapted to small images in one documented place (the stem):
//
//   features.0   stem: Conv2d(in, C0, 4, stride 2, padding 1, bias) - LayerNorm2d(C0)
//   features.1   stage 1: depths[0] CNBlocks of width C0
//   features.2   downsampling: LayerNorm2d(C0) - Conv2d(C0, C1, 2, stride 2, bias)
//   features.3 .. features.7   stages 2-4 and the downsamplings between them
//   avgpool      the mean of each channel of the final map
//   classifier   LayerNorm2d(C3) - Flatten - Linear(C3, classes)
//
// CNBlock (torchvision's names): block.0 depthwise Conv2d(C, C, 7, padding 3, groups C, bias) -
// block.2 LayerNorm over the channels of each pixel (eps 1e-6) - block.3 Linear(C, 4C) - block.4 the
// activation site (GELU in ConvNeXt) - block.5 Linear(4C, C); the branch is multiplied by layer_scale
// [C, 1, 1] (initially 1e-6), dropped per sample by stochastic_depth in training (rate growing linearly
// from 0 to the model's rate over the blocks, as torchvision), and added to the input. block.1 and
// block.6 are torchvision's Permute modules (no parameters): Sugar's LayerNorm and Linear work on the
// channels of an NCHW map directly, so they are identities here that keep the indices.
//
// The stem: torchvision's is a 4x4 convolution with stride 4 (224x224 ImageNet images give a 56x56
// first stage). A 32x32 image would leave 8x8, 4x4, 2x2 and 1x1 maps for the four stages; Sugar keeps
// the 4x4 kernel (so the weights have torchvision's shapes and a checkpoint strict-loads into
// torchvision's class) with stride 2 and padding 1: 16x16, 8x8, 4x4, 2x2. tests/torch compares against
// torchvision's class with the same change to its stem.
//
// Initialisation (model.init trunc_normal, this family's default): every Conv2d and Linear weight drawn
// from a normal distribution of standard deviation 0.02 truncated to [-2, 2] (torchvision's
// trunc_normal_), biases 0; LayerNorms 1 and 0; layer_scale 1e-6.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/drop_path.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sequential.hpp"

namespace sugar::models {

struct ConvNeXtOptions {
  std::array<int64_t, 4> widths{96, 192, 384, 768};
  std::array<int64_t, 4> depths{3, 3, 9, 3};
  float stochastic_depth = 0.1f;  // the last block's drop rate
  float layer_scale = 1e-6f;      // the initial value of every layer_scale
  activations::ActivationSpec activation;  // every block's activation site (required)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;
};

// The sizes of the registry: convnext_atto (widths 40-320, depths 2-2-6-2, timm's atto, no stochastic
// depth), convnext_femto (48-384, 2-2-6-2, none) and convnext_tiny (torchvision's convnext_tiny: 96-768,
// 3-3-9-3, 0.1). sugar::Error (usage) for another name.
ConvNeXtOptions convnext_size(std::string_view name);

// The smallest image side the stem (kernel 4, stride 2, padding 1) and three 2x2 downsamplings take: 16.
int64_t convnext_min_image_size();

class CNBlock : public nn::Module {
 public:
  CNBlock(int64_t channels, float layer_scale, float stochastic_depth, const activations::ActivationSpec& activation);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "CNBlock"; }
  void reset_parameters(uint64_t seed) override;

 private:
  float layer_scale_init_;
  Tensor layer_scale_;
  std::shared_ptr<nn::Sequential> block_;
  std::shared_ptr<nn::DropPath> stochastic_depth_;
};

class ConvNeXt : public nn::Module {
 public:
  // Throws sugar::Error (usage) on an invalid option, or an image size whose last stage would be empty.
  explicit ConvNeXt(const ConvNeXtOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvNeXt"; }
  const ConvNeXtOptions& options() const { return options_; }

 private:
  ConvNeXtOptions options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
};

}  // namespace sugar::models
