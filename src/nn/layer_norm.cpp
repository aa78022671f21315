#include "sugar/nn/layer_norm.hpp"

#include <cmath>

#include "sugar/error.hpp"
#include "sugar/ops/layer_norm.hpp"

namespace sugar::nn {

LayerNorm::LayerNorm(int64_t normalized_shape, const LayerNormOptions& options)
    : LayerNorm(normalized_shape, options, "LayerNorm") {}

LayerNorm::LayerNorm(int64_t channels, const LayerNormOptions& options, const char* type)
    : channels_(channels), options_(options) {
  SUGAR_CHECK(channels > 0, type, ": the normalised size must be positive, got ", channels);
  SUGAR_CHECK(options.eps > 0 && std::isfinite(options.eps), type, ": eps must be positive, got ", options.eps);
  if (options.elementwise_affine) {
    weight_ = register_parameter("weight", Tensor::full({channels}, 1.0f));
    bias_ = register_parameter("bias", Tensor::zeros({channels}));
  }
}

void LayerNorm::reset_parameters(uint64_t) {
  if (weight_.defined()) weight_.fill_(1.0f);
  if (bias_.defined()) bias_.fill_(0.0f);
}

Tensor LayerNorm::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() >= 2 && x.dim(-1) == channels_, display_name(), ": expected input [..., ", channels_, "], got ",
              to_string(x.shape()));
  return ops::layer_norm(x, weight_, bias_, options_.eps);
}

LayerNorm2d::LayerNorm2d(int64_t channels, const LayerNormOptions& options)
    : LayerNorm(channels, options, "LayerNorm2d") {}

Tensor LayerNorm2d::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
              ", H, W], got ", to_string(x.shape()));
  return ops::layer_norm2d(x, weight_, bias_, options_.eps);
}

}  // namespace sugar::nn
