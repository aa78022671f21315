#pragma once
// Swin Transformer (Liu et al. 2021) as torchvision 0.14's SwinTransformer builds it, with the same
// module and parameter names, so a Sugar checkpoint strict-loads into
// torchvision.models.SwinTransformer(patch_size=[p, p], embed_dim, depths, num_heads,
// window_size=[w, w], num_classes=K) (tests/torch/crosscheck_models.py):
//
//   features.0        Conv2d(in, C, p, stride p) - Permute to [N, H, W, C] - LayerNorm(C)
//   features.1, 3, 5, 7   stages of SwinTransformerBlocks; block i of a stage shifts its windows by w/2
//                     when i is odd:
//       norm1 - attn (ShiftedWindowAttention) - stochastic depth - + x
//       norm2 - mlp (0 Linear C->4C, 1 activation site, 2 Dropout, 3 Linear 4C->C, 4 Dropout) -
//       stochastic depth - + x
//   features.2, 4, 6  PatchMerging: the 2x2 neighbours side by side (4C), LayerNorm(4C), Linear(4C, 2C)
//                     without bias
//   norm - Permute to [N, C, H, W] - avgpool - flatten - head Linear(C_last, K)
//
// ShiftedWindowAttention: qkv Linear(C, 3C), proj Linear(C, C), relative_position_bias_table
// [(2w-1)^2, heads] (trunc_normal 0.02) read through relative_position_index (a buffer; f32 here,
// int64 in torch: loading converts it) into a [heads, L, L] bias, L = w*w tokens per window; a shifted
// block rolls the map by -w/2, masks token pairs from different regions with -100 (torchvision's mask)
// and rolls back. The stochastic depth rate grows linearly from 0 at the first block to the model's
// rate at the last.
//
// Small maps, as torchvision does (not as the original code, which shrinks the window): a map smaller
// than the window is zero-padded to the window, and a window as large as the (padded) map does not
// shift. With 32x32 images and patch 2 the stages see 16x16, 8x8, 4x4 (one window, no shift) and 2x2
// (padded to 4x4, no shift). Images must be a multiple of 8 patches wide (three 2x2 mergings).
//
// model.init torchvision (the default) is torchvision's: every Linear trunc_normal(0.02) with bias 0,
// the patch embedding PyTorch's default; pytorch_default: every layer's PyTorch default (the bias
// tables stay trunc_normal 0.02, their module's own).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/drop_path.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/layer_call.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::models {

struct SwinOptions {
  int64_t patch = 2;
  int64_t embed = 96;  // C of the first stage; each stage doubles it
  std::array<int64_t, 4> depths{2, 2, 6, 2};
  std::array<int64_t, 4> heads{3, 6, 12, 24};
  int64_t window = 4;
  float stochastic_depth = 0.2f;  // the last block's rate
  activations::ActivationSpec activation;  // every MLP's activation site (required)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;
  nn::init::ConvInit init = nn::init::ConvInit::torchvision;
};

// swin_tiny (Swin-T's widths and depths: 96, 2-2-6-2, heads 3-6-12-24, stochastic depth 0.2) and
// swin_mini (48, 2-2-2-2, heads 3-6-12-24, 0.1), both patch 2 and window 4. sugar::Error (usage) for
// another name.
SwinOptions swin_size(std::string_view name);

class ShiftedWindowAttention : public nn::Module {
 public:
  ShiftedWindowAttention(int64_t width, int64_t heads, int64_t window, int64_t shift);
  Tensor forward(const Tensor& x) override;  // [N, H, W, C] -> [N, H, W, C]
  std::string type_name() const override { return "ShiftedWindowAttention"; }
  void reset_parameters(uint64_t seed) override;
  void count_flops(nn::DirectFlops& totals) const override;  // the attention (qkv and proj count themselves)

 private:
  int64_t width_, heads_, window_, shift_;
  std::optional<nn::AttentionCall> attention_call_;
  std::vector<int64_t> relative_index_;  // relative_position_index's values
  Tensor table_, index_buffer_;
  std::shared_ptr<nn::Linear> qkv_, proj_;
};

class SwinTransformerBlock : public nn::Module {
 public:
  SwinTransformerBlock(int64_t width, int64_t heads, int64_t window, int64_t shift, float drop_rate,
                       const activations::ActivationSpec& activation);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SwinTransformerBlock"; }

 private:
  std::shared_ptr<nn::LayerNorm> norm1_, norm2_;
  std::shared_ptr<ShiftedWindowAttention> attn_;
  std::shared_ptr<nn::DropPath> stochastic_depth_;
  std::shared_ptr<nn::Module> mlp_;
};

class PatchMerging : public nn::Module {
 public:
  explicit PatchMerging(int64_t width);
  Tensor forward(const Tensor& x) override;  // [N, H, W, C] -> [N, H/2, W/2, 2C]
  std::string type_name() const override { return "PatchMerging"; }

 private:
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> reduction_;
};

class SwinTransformer : public nn::Module {
 public:
  // Throws sugar::Error (usage) on an invalid option (names the option and value).
  explicit SwinTransformer(const SwinOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "SwinTransformer"; }
  void reset_after_children(uint64_t seed) override;  // torchvision's init (model.init torchvision)

 private:
  SwinOptions options_;
  std::shared_ptr<nn::Module> features_, norm_, permute_, avgpool_, flatten_, head_;
  std::shared_ptr<nn::Conv2d> patch_conv_;
};

}  // namespace sugar::models
