#include "sugar/models/vgg.hpp"

#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {

namespace {

constexpr int64_t M = kVggMaxPool;

void check_options(const VggOptions& o) {
  if (!o.activation.defined()) usage_error("VGG: no activation spec given");
  if (o.num_classes <= 0) usage_error("VGG: num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.in_channels <= 0) usage_error("VGG: in_channels must be positive, got " + std::to_string(o.in_channels));
  if (o.layers.empty()) usage_error("VGG: the layer cfg is empty");
  for (int64_t entry : o.layers)
    if (entry < 0) usage_error("VGG: a cfg entry must be a conv width > 0 or kVggMaxPool, got " + std::to_string(entry));
  const int64_t min_size = vgg_min_image_size(o.layers);
  if (o.image_size < min_size)
    usage_error("VGG: images must be at least " + std::to_string(min_size) + "x" + std::to_string(min_size) +
                " for the cfg's max-pools, got " + std::to_string(o.image_size) + "x" + std::to_string(o.image_size) +
                "; pad them (data.pad_to)");
}

}  // namespace

int64_t vgg_min_image_size(const std::vector<int64_t>& layers) {
  int64_t size = 1;
  for (int64_t entry : layers)
    if (entry == M) size *= 2;
  return size;
}

const std::vector<int64_t>& vgg_layers(std::string_view name) {
  static const std::vector<int64_t> vgg11{64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  static const std::vector<int64_t> vgg13{64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
  static const std::vector<int64_t> vgg16{64,  64,  M,   128, 128, M,   256, 256, 256,
                                          M,   512, 512, 512, M,   512, 512, 512, M};
  static const std::vector<int64_t> vgg19{64,  64,  M,   128, 128, M,   256, 256, 256, 256, M,
                                          512, 512, 512, 512, M,   512, 512, 512, 512, M};
  if (name == "vgg11") return vgg11;
  if (name == "vgg13") return vgg13;
  if (name == "vgg16") return vgg16;
  if (name == "vgg19") return vgg19;
  usage_error("vgg_layers: unknown VGG '" + std::string(name) + "' (vgg11, vgg13, vgg16, vgg19)");
}

VGG::VGG(const VggOptions& options) : options_(options) {
  check_options(options_);
  features_ = std::make_shared<nn::Sequential>();
  int64_t channels = options_.in_channels;
  for (int64_t entry : options_.layers) {
    if (entry == M) {
      features_->push_back(std::make_shared<nn::MaxPool2d>(2, 2));
      continue;
    }
    features_->push_back(std::make_shared<nn::Conv2d>(channels, entry, 3, 1, 1, 1, 1, /*bias=*/true));
    if (options_.batch_norm) features_->push_back(std::make_shared<nn::BatchNorm2d>(entry));
    features_->push_back(nn::make_activation(options_.activation, entry));
    channels = entry;
  }
  // Where kuangliu has AvgPool2d(1, 1); see the header.
  features_->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  register_module("features", features_);
  classifier_ = register_module("classifier", std::make_shared<nn::Linear>(channels, options_.num_classes));
}

Tensor VGG::forward(const Tensor& x) {
  const int64_t min_size = vgg_min_image_size(options_.layers);
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == options_.in_channels && x.dim(2) >= min_size && x.dim(3) >= min_size,
              display_name(), ": expected input [N, ", options_.in_channels, ", H >= ", min_size, ", W >= ", min_size,
              "], got ", to_string(x.shape()));
  return classifier_->forward(ops::flatten(features_->forward(x)));
}

}  // namespace sugar::models
