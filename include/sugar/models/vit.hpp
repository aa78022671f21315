#pragma once
// Vision Transformer (Dosovitskiy et al. 2021) as torchvision 0.14's VisionTransformer builds it, with
// the same module and parameter names, so a Sugar checkpoint strict-loads into
// torchvision.models.VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim,
// mlp_dim, num_classes=K) (tests/torch/crosscheck_models.py):
//
//   conv_proj               Conv2d(in, C, patch, stride patch): the patch embedding
//   class_token             [1, 1, C], prepended to the (H/patch)(W/patch) patch tokens
//   encoder.pos_embedding   [1, L, C], L = patches + 1, added to every sample
//   encoder.layers.encoder_layer_<i>   EncoderBlock:
//       ln_1 (LayerNorm eps 1e-6) - self_attention (MultiheadSelfAttention) - + input
//       ln_2 - mlp (0 Linear C->M, 1 activation site, 2 Dropout, 3 Linear M->C, 4 Dropout) - + x
//   encoder.ln              LayerNorm eps 1e-6
//   heads.head              Linear(C, K) on the class token
//
// Tokens are [N, L, C] tensors; a Linear runs on them as [N*L, C] (a reshape, no copy).
// model.init torchvision (the default) is torchvision's: patch embedding trunc_normal(std sqrt(1/fan_in))
// with bias 0, position embedding N(0, 0.02), class token 0, attention input projection xavier_uniform
// with bias 0, output projection PyTorch's default with bias 0, MLP linears xavier_uniform with bias
// N(0, 1e-6), head 0. pytorch_default: every layer's PyTorch default (the attention's input projection
// and biases, and the embeddings, as above: those are their modules' own defaults).
// The images must be square and a multiple of the patch size; the classifier reads 3-channel images in
// torchvision's class, Sugar's takes in_channels.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/layer_call.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::models {

struct ViTOptions {
  int64_t patch = 4;
  int64_t width = 192;  // C, hidden_dim
  int64_t depth = 12;   // encoder blocks
  int64_t heads = 3;
  int64_t mlp = 768;    // M, mlp_dim
  float dropout = 0.0f;
  activations::ActivationSpec activation;  // every MLP's activation site (required)
  int64_t num_classes = 10;
  int64_t in_channels = 3;
  int64_t image_size = 32;
  nn::init::ConvInit init = nn::init::ConvInit::torchvision;
};

// vit_tiny (patch 4, width 192, depth 12, 3 heads, MLP 768: DeiT-Ti's widths) and vit_mini (patch 4,
// width 128, depth 6, 4 heads, MLP 256: a size that trains at a useful speed on 2 cores).
// sugar::Error (usage) for another name.
ViTOptions vit_size(std::string_view name);

// torch.nn.MultiheadAttention(C, heads, batch_first=True) used as self-attention: in_proj_weight
// [3C, C] and in_proj_bias [3C] give q, k and v; out_proj is Linear(C, C). [N, L, C] -> [N, L, C].
class MultiheadSelfAttention : public nn::Module {
 public:
  MultiheadSelfAttention(int64_t width, int64_t heads);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MultiheadAttention"; }
  void reset_parameters(uint64_t seed) override;
  void reset_after_children(uint64_t seed) override;  // out_proj.bias = 0, as PyTorch's own init
  std::vector<Tensor> decayed_weights() const override { return {in_proj_weight_}; }
  void count_flops(nn::DirectFlops& totals) const override;  // the input projection and the attention

 private:
  int64_t width_, heads_;
  std::optional<nn::LayerCall> projection_call_;
  std::optional<nn::AttentionCall> attention_call_;
  Tensor in_proj_weight_, in_proj_bias_;
  std::shared_ptr<nn::Linear> out_proj_;
};

class EncoderBlock : public nn::Module {
 public:
  EncoderBlock(const ViTOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "EncoderBlock"; }
  void reset_after_children(uint64_t seed) override;  // torchvision's MLPBlock init (model.init torchvision)

 private:
  nn::init::ConvInit init_;
  std::shared_ptr<nn::LayerNorm> ln_1_, ln_2_;
  std::shared_ptr<MultiheadSelfAttention> self_attention_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> fc1_, fc2_;
  std::shared_ptr<nn::Module> mlp_;
};

class VisionTransformer : public nn::Module {
 public:
  // Throws sugar::Error (usage) on an invalid option (names the option and value).
  explicit VisionTransformer(const ViTOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "VisionTransformer"; }
  void reset_parameters(uint64_t seed) override;
  void reset_after_children(uint64_t seed) override;  // patch embedding and head (model.init torchvision)
  const ViTOptions& options() const { return options_; }

 private:
  ViTOptions options_;
  Tensor class_token_;
  std::shared_ptr<nn::Conv2d> conv_proj_;
  std::shared_ptr<nn::Module> encoder_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace sugar::models
