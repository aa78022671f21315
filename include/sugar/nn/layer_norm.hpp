#pragma once
// Layer normalisation modules (ops/layer_norm.hpp has the math). Parameters weight [C] = 1 and
// bias [C] = 0 when elementwise_affine, as PyTorch initialises them.
//   LayerNorm    PyTorch's nn.LayerNorm(C) over the last dimension of [..., C] (tokens, features);
//                eps 1e-5 as PyTorch's default.
//   LayerNorm2d  torchvision's ConvNeXt LayerNorm2d: over the C channels of each pixel of [N, C, H, W];
//                eps 1e-6 as torchvision's ConvNeXt. The output is channels-last.
#include "sugar/nn/module.hpp"

namespace sugar::nn {

struct LayerNormOptions {
  float eps = 1e-5f;
  bool elementwise_affine = true;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t normalized_shape, const LayerNormOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  void reset_parameters(uint64_t seed) override;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 protected:
  LayerNorm(int64_t channels, const LayerNormOptions& options, const char* type);
  int64_t channels_;
  LayerNormOptions options_;
  Tensor weight_, bias_;
};

class LayerNorm2d : public LayerNorm {
 public:
  explicit LayerNorm2d(int64_t channels, const LayerNormOptions& options = {1e-6f, true});
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm2d"; }
};

}  // namespace sugar::nn
