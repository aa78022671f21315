#include "sugar/models/convnext.hpp"

#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/ops/scale.hpp"

namespace sugar::models {

namespace {

// torchvision's Permute (NCHW <-> NHWC): no parameters, and nothing to do on Sugar's NCHW maps, whose
// LayerNorm and Linear take the channels of each pixel directly. Kept so that block indices match.
class Permute : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Permute"; }
};

constexpr float kNormEps = 1e-6f;  // torchvision's ConvNeXt: LayerNorm(eps=1e-6) everywhere

// The side of the map after the stem (kernel 4, stride 2, padding 1) and three 2x2 downsamplings.
int64_t last_stage_side(int64_t image_size) {
  int64_t side = (image_size + 2 - 4) / 2 + 1;
  for (int i = 0; i < 3; ++i) side /= 2;
  return side;
}

}  // namespace

int64_t convnext_min_image_size() {
  int64_t side = 1;
  while (last_stage_side(side) < 1) ++side;
  return side;
}

ConvNeXtOptions convnext_size(std::string_view name) {
  ConvNeXtOptions o;
  if (name == "convnext_atto") {
    o.widths = {40, 80, 160, 320};
    o.depths = {2, 2, 6, 2};
    o.stochastic_depth = 0.0f;
  } else if (name == "convnext_femto") {
    o.widths = {48, 96, 192, 384};
    o.depths = {2, 2, 6, 2};
    o.stochastic_depth = 0.0f;
  } else if (name == "convnext_tiny") {
    o.widths = {96, 192, 384, 768};
    o.depths = {3, 3, 9, 3};
    o.stochastic_depth = 0.1f;
  } else {
    usage_error("convnext_size: unknown ConvNeXt '" + std::string(name) + "' (convnext_atto, convnext_femto, convnext_tiny)");
  }
  return o;
}

CNBlock::CNBlock(int64_t channels, float layer_scale, float stochastic_depth,
                 const activations::ActivationSpec& activation)
    : layer_scale_init_(layer_scale) {
  // torchvision's registration order: block, layer_scale, stochastic_depth.
  block_ = register_module("block", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                        std::make_shared<nn::Conv2d>(channels, channels, 7, 1, 3, 1, channels, true),
                                        std::make_shared<Permute>(),
                                        std::make_shared<nn::LayerNorm2d>(channels, nn::LayerNormOptions{kNormEps, true}),
                                        std::make_shared<nn::Linear>(channels, 4 * channels),
                                        nn::make_activation(activation, 4 * channels),
                                        std::make_shared<nn::Linear>(4 * channels, channels),
                                        std::make_shared<Permute>()}));
  layer_scale_ = register_parameter("layer_scale", Tensor::full({channels, 1, 1}, layer_scale));
  stochastic_depth_ = register_module("stochastic_depth", std::make_shared<nn::DropPath>(stochastic_depth));
}

void CNBlock::reset_parameters(uint64_t) { nn::init::constant_(layer_scale_, layer_scale_init_); }

Tensor CNBlock::forward(const Tensor& x) {
  const Tensor branch = stochastic_depth_->forward(ops::channel_scale(block_->forward(x), layer_scale_));
  return ops::add(branch, x);
}

ConvNeXt::ConvNeXt(const ConvNeXtOptions& options) : options_(options) {
  const ConvNeXtOptions& o = options_;
  if (!o.activation.defined()) usage_error("ConvNeXt: no activation spec given");
  if (o.num_classes <= 0) usage_error("ConvNeXt: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("ConvNeXt: in_channels must be positive, got " + std::to_string(o.in_channels));
  if (o.image_size < convnext_min_image_size())
    usage_error("ConvNeXt: images of " + std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                " are too small: the stem (stride 2) and three 2x2 downsamplings need at least " +
                std::to_string(convnext_min_image_size()) + "x" + std::to_string(convnext_min_image_size()));
  for (size_t s = 0; s < 4; ++s)
    if (o.widths[s] <= 0 || o.depths[s] <= 0) usage_error("ConvNeXt: every stage needs a positive width and depth");
  if (!(o.stochastic_depth >= 0.0f && o.stochastic_depth < 1.0f))
    usage_error("ConvNeXt: the stochastic depth rate must be in [0, 1), got " + std::to_string(o.stochastic_depth));

  features_ = register_module("features", std::make_shared<nn::Sequential>());
  features_->push_back(std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(o.in_channels, o.widths[0], 4, 2, 1, 1, 1, true),
      std::make_shared<nn::LayerNorm2d>(o.widths[0], nn::LayerNormOptions{kNormEps, true})}));
  int64_t total_blocks = 0;
  for (int64_t d : o.depths) total_blocks += d;
  int64_t block_id = 0;
  for (size_t stage = 0; stage < 4; ++stage) {
    auto blocks = std::make_shared<nn::Sequential>();
    for (int64_t b = 0; b < o.depths[stage]; ++b, ++block_id) {
      // torchvision: stochastic_depth_prob * block_id / (total_stage_blocks - 1.0).
      const float rate = total_blocks > 1 ? o.stochastic_depth * static_cast<float>(block_id) /
                                                static_cast<float>(total_blocks - 1)
                                          : 0.0f;
      blocks->push_back(std::make_shared<CNBlock>(o.widths[stage], o.layer_scale, rate, o.activation));
    }
    features_->push_back(blocks);
    if (stage < 3) {
      features_->push_back(std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
          std::make_shared<nn::LayerNorm2d>(o.widths[stage], nn::LayerNormOptions{kNormEps, true}),
          std::make_shared<nn::Conv2d>(o.widths[stage], o.widths[stage + 1], 2, 2, 0, 1, 1, true)}));
    }
  }
  classifier_ = register_module("classifier", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                                  std::make_shared<nn::LayerNorm2d>(o.widths[3], nn::LayerNormOptions{kNormEps, true}),
                                                  std::make_shared<nn::Flatten>(),
                                                  std::make_shared<nn::Linear>(o.widths[3], o.num_classes)}));
}

Tensor ConvNeXt::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels, display_name(), ": expected input [N, ",
              options_.in_channels, ", H, W], got ", to_string(x.shape()));
  return classifier_->forward(ops::global_avg_pool2d(features_->forward(x)));
}

}  // namespace sugar::models
