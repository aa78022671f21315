#include "sugar/models/swin.hpp"

#include "sugar/models/token_layers.hpp"
#include "sugar/nn/direct_flops.hpp"

#include <cmath>
#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/attention.hpp"
#include "sugar/ops/gather.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {
namespace {

constexpr float kNormEps = 1e-5f;  // torchvision's Swin: nn.LayerNorm's default eps

// torchvision's Permute: the axes reordered (here for real: NCHW maps <-> [N, H, W, C] tokens).
class AxesPermute : public nn::Module {
 public:
  explicit AxesPermute(std::vector<int> order) : order_(std::move(order)) {}
  Tensor forward(const Tensor& x) override { return ops::permute(x, order_); }
  std::string type_name() const override { return "Permute"; }

 private:
  std::vector<int> order_;
};

// [N, H, W, C] zero-padded at the bottom and right to [N, H + bottom, W + right, C].
Tensor pad_map(const Tensor& x, int64_t bottom, int64_t right) {
  Tensor y = x;
  if (bottom > 0) y = ops::concat({y, Tensor::zeros({y.dim(0), bottom, y.dim(2), y.dim(3)}, y.dtype())}, 1);
  if (right > 0) y = ops::concat({y, Tensor::zeros({y.dim(0), y.dim(1), right, y.dim(3)}, y.dtype())}, 2);
  return y;
}

// [N, H, W, C] -> [N * (H/w) * (W/w), w * w, C]: windows in row-major order, each's tokens row-major.
Tensor partition(const Tensor& x, int64_t w) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  return ops::reshape(ops::permute(ops::reshape(x, {N, H / w, w, W / w, w, C}), {0, 1, 3, 2, 4, 5}),
                      {N * (H / w) * (W / w), w * w, C});
}

// The inverse of partition.
Tensor merge_windows(const Tensor& windows, int64_t N, int64_t H, int64_t W, int64_t w) {
  const int64_t C = windows.dim(-1);
  return ops::reshape(ops::permute(ops::reshape(windows, {N, H / w, W / w, w, w, C}), {0, 1, 3, 2, 4, 5}),
                      {N, H, W, C});
}

// torchvision's shifted-window mask for a (padded) map of side `side`: the map's regions are
// [0, side - w), [side - w, side - s), [side - s, side) along each axis (the tokens the roll brought
// together from opposite borders fall in different regions); a pair of tokens of one window in
// different regions gets -100. [windows, w*w, w*w].
Tensor shift_mask(int64_t side, int64_t w, int64_t s) {
  const auto region = [&](int64_t i) { return i < side - w ? 0 : i < side - s ? 1 : 2; };
  const int64_t per_side = side / w, L = w * w;
  std::vector<float> mask(static_cast<size_t>(per_side * per_side * L * L), 0.0f);
  for (int64_t wy = 0; wy < per_side; ++wy)
    for (int64_t wx = 0; wx < per_side; ++wx)
      for (int64_t a = 0; a < L; ++a)
        for (int64_t b = 0; b < L; ++b) {
          const int64_t ya = wy * w + a / w, xa = wx * w + a % w, yb = wy * w + b / w, xb = wx * w + b % w;
          const int ra = region(ya) * 3 + region(xa), rb = region(yb) * 3 + region(xb);
          if (ra != rb) mask[static_cast<size_t>(((wy * per_side + wx) * L + a) * L + b)] = -100.0f;
        }
  return Tensor::from_vector({per_side * per_side, L, L}, mask);
}

}  // namespace

SwinOptions swin_size(std::string_view name) {
  SwinOptions o;
  if (name == "swin_tiny") return o;
  if (name == "swin_mini") {
    o.embed = 48;
    o.depths = {2, 2, 2, 2};
    o.stochastic_depth = 0.1f;
    return o;
  }
  usage_error("swin_size: unknown Swin '" + std::string(name) + "' (swin_tiny, swin_mini)");
}

// ---- ShiftedWindowAttention ------------------------------------------------------------------------

ShiftedWindowAttention::ShiftedWindowAttention(int64_t width, int64_t heads, int64_t window, int64_t shift)
    : width_(width), heads_(heads), window_(window), shift_(shift) {
  SUGAR_CHECK(heads > 0 && width % heads == 0, "ShiftedWindowAttention: the width ", width,
              " is not a multiple of the ", heads, " heads");
  qkv_ = register_module("qkv", std::make_shared<nn::Linear>(width, 3 * width));
  proj_ = register_module("proj", std::make_shared<nn::Linear>(width, width));
  const int64_t span = 2 * window - 1;
  table_ = register_parameter("relative_position_bias_table", Tensor::zeros({span * span, heads}));
  // torchvision's define_relative_position_index: for tokens a, b of a window (row-major), the row of
  // (dy + w - 1) * (2w - 1) + (dx + w - 1), (dy, dx) = a's coordinates minus b's.
  const int64_t L = window * window;
  relative_index_.resize(static_cast<size_t>(L * L));
  std::vector<float> as_float(relative_index_.size());
  for (int64_t a = 0; a < L; ++a)
    for (int64_t b = 0; b < L; ++b) {
      const int64_t dy = a / window - b / window, dx = a % window - b % window;
      relative_index_[a * L + b] = (dy + window - 1) * span + (dx + window - 1);
      as_float[a * L + b] = static_cast<float>(relative_index_[a * L + b]);
    }
  index_buffer_ = register_buffer("relative_position_index", Tensor::from_vector({L * L}, as_float));
}

void ShiftedWindowAttention::reset_parameters(uint64_t seed) {
  nn::init::trunc_normal_(table_, 0.0, 0.02, -2.0, 2.0, nn::init::init_stream(table_, seed));
}

Tensor ShiftedWindowAttention::forward(const Tensor& input) {
  SUGAR_CHECK(input.ndim() == 4 && input.dim(3) == width_ && input.dim(1) == input.dim(2), display_name(),
              ": expected square tokens [N, H, H, ", width_, "], got ", to_string(input.shape()));
  const int64_t N = input.dim(0), side = input.dim(1), w = window_;
  const int64_t pad = (w - side % w) % w, padded = side + pad;
  const int64_t shift = w >= padded ? 0 : shift_;  // one window covers the map: nothing to shift
  Tensor x = pad_map(input, pad, pad);
  if (shift > 0) x = ops::roll(ops::roll(x, 1, -shift), 2, -shift);
  const Tensor windows = partition(x, w);  // [N * nW, L, C]
  const int64_t L = w * w;
  const HeadsQkv h = split_heads(on_last_axis(*qkv_, windows), heads_);  // [N * nW, heads, L, d] each
  attention_call_ = nn::AttentionCall{windows.dim(0), heads_, L, width_ / heads_, input.requires_grad()};
  // The bias of each pair of tokens, per head: [L*L, heads] rows of the table -> [heads, L, L].
  const Tensor bias = ops::reshape(ops::permute(ops::index_rows(table_, relative_index_), {1, 0}), {heads_, L, L});
  ops::AttentionOptions options;
  options.bias = bias;
  if (shift > 0) options.mask = shift_mask(padded, w, shift);
  const Tensor joined = join_heads(ops::attention(h.q, h.k, h.v, options));  // [N * nW, L, C]
  Tensor y = merge_windows(on_last_axis(*proj_, joined), N, padded, padded, w);
  if (shift > 0) y = ops::roll(ops::roll(y, 1, shift), 2, shift);
  if (pad > 0) y = ops::slice(ops::slice(y, 1, 0, side), 2, 0, side);
  return y;
}

void ShiftedWindowAttention::count_flops(nn::DirectFlops& totals) const {
  nn::add_attention_flops(totals, *this, attention_call_);
}

// ---- SwinTransformerBlock and PatchMerging ---------------------------------------------------------

SwinTransformerBlock::SwinTransformerBlock(int64_t width, int64_t heads, int64_t window, int64_t shift,
                                           float drop_rate, const activations::ActivationSpec& activation) {
  norm1_ = register_module("norm1", std::make_shared<nn::LayerNorm>(width, nn::LayerNormOptions{kNormEps, true}));
  attn_ = register_module("attn", std::make_shared<ShiftedWindowAttention>(width, heads, window, shift));
  stochastic_depth_ = register_module("stochastic_depth", std::make_shared<nn::DropPath>(drop_rate));
  norm2_ = register_module("norm2", std::make_shared<nn::LayerNorm>(width, nn::LayerNormOptions{kNormEps, true}));
  auto mlp = std::make_shared<nn::Sequential>();
  mlp->push_back(std::make_shared<nn::Linear>(width, 4 * width));
  mlp->push_back(std::shared_ptr<nn::Module>(nn::make_activation(activation, 4 * width)));
  mlp->push_back(std::make_shared<nn::Dropout>(0.0f));
  mlp->push_back(std::make_shared<nn::Linear>(4 * width, width));
  mlp->push_back(std::make_shared<nn::Dropout>(0.0f));
  mlp_ = register_module("mlp", std::shared_ptr<nn::Module>(mlp));
}

Tensor SwinTransformerBlock::forward(const Tensor& input) {
  const Tensor x = ops::add(input, stochastic_depth_->forward(attn_->forward(norm1_->forward(input))));
  return ops::add(x, stochastic_depth_->forward(on_last_axis(*mlp_, norm2_->forward(x))));
}

PatchMerging::PatchMerging(int64_t width) {
  reduction_ = register_module("reduction", std::make_shared<nn::Linear>(4 * width, 2 * width, false));
  norm_ = register_module("norm", std::make_shared<nn::LayerNorm>(4 * width, nn::LayerNormOptions{kNormEps, true}));
}

Tensor PatchMerging::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) % 2 == 0 && x.dim(2) % 2 == 0, display_name(),
              ": expected [N, H, W, C] with even H and W, got ", to_string(x.shape()));
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  // torchvision's cat of x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]: the neighbour at
  // row offset r and column offset c lands in channel block 2c + r.
  const Tensor merged = ops::reshape(ops::permute(ops::reshape(x, {N, H / 2, 2, W / 2, 2, C}), {0, 1, 3, 4, 2, 5}),
                                     {N, H / 2, W / 2, 4 * C});
  return on_last_axis(*reduction_, norm_->forward(merged));
}

// ---- SwinTransformer -------------------------------------------------------------------------------

SwinTransformer::SwinTransformer(const SwinOptions& options) : options_(options) {
  const SwinOptions& o = options_;
  if (!o.activation.defined()) usage_error("Swin: no activation spec given");
  if (o.num_classes <= 0) usage_error("Swin: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("Swin: in_channels must be positive, got " + std::to_string(o.in_channels));
  if (o.patch <= 0 || o.image_size % (8 * o.patch) != 0 || o.image_size <= 0)
    usage_error("Swin: images of " + std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                " are not a multiple of 8 patches of " + std::to_string(o.patch) + "x" + std::to_string(o.patch) +
                " (three 2x2 patch mergings)");
  if (o.window <= 0 || o.embed <= 0) usage_error("Swin: the window and the embedding width must be positive");
  if (!(o.stochastic_depth >= 0.0f && o.stochastic_depth < 1.0f))
    usage_error("Swin: the stochastic depth rate must be in [0, 1), got " + std::to_string(o.stochastic_depth));
  auto features = std::make_shared<nn::Sequential>();
  patch_conv_ = std::make_shared<nn::Conv2d>(o.in_channels, o.embed, o.patch, o.patch);
  features->push_back(std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      patch_conv_, std::make_shared<AxesPermute>(std::vector<int>{0, 2, 3, 1}),
      std::make_shared<nn::LayerNorm>(o.embed, nn::LayerNormOptions{kNormEps, true})}));
  int64_t total = 0;
  for (int64_t d : o.depths) total += d;
  int64_t block = 0, width = o.embed;
  for (size_t s = 0; s < 4; ++s) {
    if (o.heads[s] <= 0 || width % o.heads[s] != 0 || o.depths[s] <= 0)
      usage_error("Swin: stage " + std::to_string(s + 1) + " needs a positive depth and a width (" +
                  std::to_string(width) + ") that is a multiple of its heads (" + std::to_string(o.heads[s]) + ")");
    auto stage = std::make_shared<nn::Sequential>();
    for (int64_t i = 0; i < o.depths[s]; ++i, ++block) {
      const float rate = total > 1 ? o.stochastic_depth * static_cast<float>(block) / static_cast<float>(total - 1) : 0.0f;
      stage->push_back(std::make_shared<SwinTransformerBlock>(width, o.heads[s], o.window, i % 2 == 0 ? 0 : o.window / 2,
                                                              rate, o.activation));
    }
    features->push_back(stage);
    if (s < 3) {
      features->push_back(std::make_shared<PatchMerging>(width));
      width *= 2;
    }
  }
  features_ = register_module("features", std::shared_ptr<nn::Module>(features));
  norm_ = register_module("norm", std::shared_ptr<nn::Module>(std::make_shared<nn::LayerNorm>(width, nn::LayerNormOptions{kNormEps, true})));
  permute_ = register_module("permute", std::shared_ptr<nn::Module>(std::make_shared<AxesPermute>(std::vector<int>{0, 3, 1, 2})));
  avgpool_ = register_module("avgpool", std::shared_ptr<nn::Module>(std::make_shared<nn::AdaptiveAvgPool2d>(1)));
  flatten_ = register_module("flatten", std::shared_ptr<nn::Module>(std::make_shared<nn::Flatten>()));
  head_ = register_module("head", std::shared_ptr<nn::Module>(std::make_shared<nn::Linear>(width, o.num_classes)));
}

void SwinTransformer::reset_after_children(uint64_t seed) {
  if (options_.init != nn::init::ConvInit::torchvision) return;
  // torchvision's loop over every Linear; the patch embedding keeps Conv2d's PyTorch default.
  for (auto& [path, module] : named_modules())
    if (auto* linear = dynamic_cast<nn::Linear*>(module)) {
      Tensor weight = linear->weight(), bias = linear->bias();
      nn::init::trunc_normal_(weight, 0.0, 0.02, -2.0, 2.0, nn::init::init_stream(weight, seed));
      if (bias.defined()) nn::init::constant_(bias, 0.0f);
    }
  Tensor weight = patch_conv_->weight(), bias = patch_conv_->bias();
  nn::init::kaiming_uniform_default_(weight, nn::init::init_stream(weight, seed));
  nn::init::uniform_default_bias_(bias, weight, nn::init::init_stream(bias, seed));
}

Tensor SwinTransformer::forward(const Tensor& x) {
  const SwinOptions& o = options_;
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == o.in_channels && x.dim(2) == o.image_size && x.dim(3) == o.image_size,
              display_name(), ": expected input [N, ", o.in_channels, ", ", o.image_size, ", ", o.image_size, "], got ",
              to_string(x.shape()));
  // [N, h, w, C] tokens -> [N, C, h, w] map -> the mean over positions -> [N, C].
  const Tensor pooled = flatten_->forward(avgpool_->forward(permute_->forward(norm_->forward(features_->forward(x)))));
  return head_->forward(pooled);
}

}  // namespace sugar::models
