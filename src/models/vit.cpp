#include "sugar/models/vit.hpp"

#include "sugar/models/token_layers.hpp"
#include "sugar/nn/direct_flops.hpp"

#include <cmath>
#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/attention.hpp"
#include "sugar/ops/linear.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {
namespace {

constexpr float kNormEps = 1e-6f;  // torchvision's ViT: LayerNorm(eps=1e-6) everywhere

// nn.Sequential(OrderedDict(...)): children under the given names, run in order.
class NamedSequence : public nn::Module {
 public:
  void add(const std::string& name, std::shared_ptr<nn::Module> module) { modules_.push_back(register_module(name, module)); }
  Tensor forward(const Tensor& x) override {
    Tensor y = x;
    for (const auto& module : modules_) y = module->forward(y);
    return y;
  }
  std::string type_name() const override { return "Sequential"; }

 private:
  std::vector<std::shared_ptr<nn::Module>> modules_;
};

// torchvision's Encoder: pos_embedding added to each sample, dropout, the blocks, a final LayerNorm.
class Encoder : public nn::Module {
 public:
  Encoder(const ViTOptions& o, int64_t tokens) {
    pos_embedding_ = register_parameter("pos_embedding", Tensor::zeros({1, tokens, o.width}));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout));
    layers_ = register_module("layers", std::make_shared<NamedSequence>());
    for (int64_t i = 0; i < o.depth; ++i) layers_->add("encoder_layer_" + std::to_string(i), std::make_shared<EncoderBlock>(o));
    ln_ = register_module("ln", std::make_shared<nn::LayerNorm>(o.width, nn::LayerNormOptions{kNormEps, true}));
  }
  Tensor forward(const Tensor& x) override {
    return ln_->forward(layers_->forward(dropout_->forward(ops::add_to_each_sample(x, pos_embedding_))));
  }
  std::string type_name() const override { return "Encoder"; }
  void reset_parameters(uint64_t seed) override {  // "from BERT": N(0, 0.02) whatever model.init says
    nn::init::normal_(pos_embedding_, 0.0, 0.02, nn::init::init_stream(pos_embedding_, seed));
  }

 private:
  Tensor pos_embedding_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<NamedSequence> layers_;
  std::shared_ptr<nn::LayerNorm> ln_;
};

// xavier_uniform_: U(+-sqrt(6 / (fan_in + fan_out))).
void xavier_uniform(Tensor& weight, uint64_t seed) {
  const double bound = std::sqrt(6.0 / static_cast<double>(nn::init::fan_in(weight) + nn::init::fan_out(weight)));
  nn::init::uniform_(weight, -bound, bound, nn::init::init_stream(weight, seed));
}

}  // namespace

ViTOptions vit_size(std::string_view name) {
  ViTOptions o;
  if (name == "vit_tiny") return o;
  if (name == "vit_mini") {
    o.width = 128;
    o.depth = 6;
    o.heads = 4;
    o.mlp = 256;
    return o;
  }
  usage_error("vit_size: unknown ViT '" + std::string(name) + "' (vit_tiny, vit_mini)");
}

// ---- MultiheadSelfAttention ----------------------------------------------------------------------

MultiheadSelfAttention::MultiheadSelfAttention(int64_t width, int64_t heads) : width_(width), heads_(heads) {
  SUGAR_CHECK(heads > 0 && width % heads == 0, "MultiheadAttention: the width ", width, " is not a multiple of the ",
              heads, " heads");
  in_proj_weight_ = register_parameter("in_proj_weight", Tensor::zeros({3 * width, width}));
  in_proj_bias_ = register_parameter("in_proj_bias", Tensor::zeros({3 * width}));
  out_proj_ = register_module("out_proj", std::make_shared<nn::Linear>(width, width));
}

void MultiheadSelfAttention::reset_parameters(uint64_t seed) {
  xavier_uniform(in_proj_weight_, seed);
  nn::init::constant_(in_proj_bias_, 0.0f);
}

void MultiheadSelfAttention::reset_after_children(uint64_t) {
  Tensor bias = out_proj_->bias();
  nn::init::constant_(bias, 0.0f);
}

Tensor MultiheadSelfAttention::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 3 && x.dim(2) == width_, display_name(), ": expected tokens [N, L, ", width_, "], got ",
              to_string(x.shape()));
  const int64_t N = x.dim(0), L = x.dim(1);
  const Tensor qkv = ops::reshape(ops::linear(ops::reshape(x, {N * L, width_}), in_proj_weight_, in_proj_bias_),
                                  {N, L, 3 * width_});
  const HeadsQkv h = split_heads(qkv, heads_);
  projection_call_ = nn::LayerCall{N * L, x.requires_grad()};
  attention_call_ = nn::AttentionCall{N, heads_, L, width_ / heads_, x.requires_grad()};
  const Tensor joined = ops::reshape(join_heads(ops::attention(h.q, h.k, h.v)), {N * L, width_});
  return ops::reshape(out_proj_->forward(joined), {N, L, width_});
}

void MultiheadSelfAttention::count_flops(nn::DirectFlops& totals) const {
  nn::add_layer_flops(totals, *this, projection_call_, in_proj_weight_.numel());
  nn::add_attention_flops(totals, *this, attention_call_);
}

// ---- EncoderBlock ---------------------------------------------------------------------------------

EncoderBlock::EncoderBlock(const ViTOptions& o) : init_(o.init) {
  ln_1_ = register_module("ln_1", std::make_shared<nn::LayerNorm>(o.width, nn::LayerNormOptions{kNormEps, true}));
  self_attention_ = register_module("self_attention", std::make_shared<MultiheadSelfAttention>(o.width, o.heads));
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout));
  ln_2_ = register_module("ln_2", std::make_shared<nn::LayerNorm>(o.width, nn::LayerNormOptions{kNormEps, true}));
  auto mlp = std::make_shared<nn::Sequential>();
  fc1_ = mlp->push_back(std::make_shared<nn::Linear>(o.width, o.mlp));
  mlp->push_back(std::shared_ptr<nn::Module>(nn::make_activation(o.activation, o.mlp)));
  mlp->push_back(std::make_shared<nn::Dropout>(o.dropout));
  fc2_ = mlp->push_back(std::make_shared<nn::Linear>(o.mlp, o.width));
  mlp->push_back(std::make_shared<nn::Dropout>(o.dropout));
  mlp_ = register_module("mlp", std::shared_ptr<nn::Module>(mlp));
}

void EncoderBlock::reset_after_children(uint64_t seed) {
  if (init_ != nn::init::ConvInit::torchvision) return;
  for (const auto& layer : {fc1_, fc2_}) {  // torchvision's MLPBlock
    Tensor weight = layer->weight(), bias = layer->bias();
    xavier_uniform(weight, seed);
    nn::init::normal_(bias, 0.0, 1e-6, nn::init::init_stream(bias, seed));
  }
}

Tensor EncoderBlock::forward(const Tensor& input) {
  const Tensor x = ops::add(dropout_->forward(self_attention_->forward(ln_1_->forward(input))), input);
  return ops::add(x, on_last_axis(*mlp_, ln_2_->forward(x)));
}

// ---- VisionTransformer -----------------------------------------------------------------------------

VisionTransformer::VisionTransformer(const ViTOptions& options) : options_(options) {
  const ViTOptions& o = options_;
  if (!o.activation.defined()) usage_error("ViT: no activation spec given");
  if (o.num_classes <= 0) usage_error("ViT: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("ViT: in_channels must be positive, got " + std::to_string(o.in_channels));
  if (o.patch <= 0 || o.image_size < o.patch || o.image_size % o.patch != 0)
    usage_error("ViT: images of " + std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                " are not a whole number of " + std::to_string(o.patch) + "x" + std::to_string(o.patch) + " patches");
  if (o.width <= 0 || o.depth <= 0 || o.mlp <= 0 || o.heads <= 0 || o.width % o.heads != 0)
    usage_error("ViT: the width " + std::to_string(o.width) + " must be a positive multiple of the " +
                std::to_string(o.heads) + " heads, with a positive depth and MLP width");
  if (!(o.dropout >= 0.0f && o.dropout < 1.0f)) usage_error("ViT: dropout must be in [0, 1), got " + std::to_string(o.dropout));
  const int64_t side = o.image_size / o.patch;
  conv_proj_ = register_module("conv_proj", std::make_shared<nn::Conv2d>(o.in_channels, o.width, o.patch, o.patch));
  class_token_ = register_parameter("class_token", Tensor::zeros({1, 1, o.width}));
  encoder_ = register_module("encoder", std::shared_ptr<nn::Module>(std::make_shared<Encoder>(o, side * side + 1)));
  auto heads = std::make_shared<NamedSequence>();
  head_ = std::make_shared<nn::Linear>(o.width, o.num_classes);
  heads->add("head", head_);
  register_module("heads", heads);
}

void VisionTransformer::reset_parameters(uint64_t) { nn::init::constant_(class_token_, 0.0f); }

void VisionTransformer::reset_after_children(uint64_t seed) {
  if (options_.init != nn::init::ConvInit::torchvision) return;
  Tensor weight = conv_proj_->weight(), bias = conv_proj_->bias();
  const double std = std::sqrt(1.0 / static_cast<double>(nn::init::fan_in(weight)));
  nn::init::trunc_normal_(weight, 0.0, std, -2.0, 2.0, nn::init::init_stream(weight, seed));
  nn::init::constant_(bias, 0.0f);
  Tensor head_weight = head_->weight(), head_bias = head_->bias();
  nn::init::constant_(head_weight, 0.0f);
  nn::init::constant_(head_bias, 0.0f);
}

Tensor VisionTransformer::forward(const Tensor& x) {
  const ViTOptions& o = options_;
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == o.in_channels && x.dim(2) == o.image_size && x.dim(3) == o.image_size,
              display_name(), ": expected input [N, ", o.in_channels, ", ", o.image_size, ", ", o.image_size, "], got ",
              to_string(x.shape()));
  const int64_t N = x.dim(0), C = o.width, side = o.image_size / o.patch;
  // [N, C, h, w] -> [N, h*w, C]: one token per patch, in row-major patch order.
  const Tensor patches = ops::permute(ops::reshape(conv_proj_->forward(x), {N, C, side * side}), {0, 2, 1});
  // The class token in front of every sample's patches (expanded by adding it to zeros: its gradient is
  // the sum over the batch).
  const Tensor class_tokens = ops::add_to_each_sample(Tensor::zeros({N, 1, C}, patches.dtype()), class_token_);
  const Tensor tokens = encoder_->forward(ops::concat({class_tokens, patches}, 1));
  return head_->forward(ops::reshape(ops::slice(tokens, 1, 0, 1), {N, C}));
}

}  // namespace sugar::models
