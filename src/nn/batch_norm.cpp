#include "sugar/nn/batch_norm.hpp"

#include <cmath>

#include "sugar/error.hpp"
#include "sugar/ops/batch_norm.hpp"

namespace sugar::nn {

BatchNorm2d::BatchNorm2d(int64_t num_features, const BatchNorm2dOptions& options)
    : num_features_(num_features), options_(options) {
  SUGAR_CHECK(num_features > 0, "BatchNorm2d: num_features must be positive, got ", num_features);
  SUGAR_CHECK(options.eps > 0 && std::isfinite(options.eps), "BatchNorm2d: eps must be positive, got ", options.eps);
  if (options.momentum)
    SUGAR_CHECK(*options.momentum >= 0 && *options.momentum <= 1, "BatchNorm2d: momentum must be in [0, 1], got ",
                *options.momentum);
  if (options.affine) {
    weight_ = register_parameter("weight", Tensor::full({num_features}, 1.0f));
    bias_ = register_parameter("bias", Tensor::zeros({num_features}));
  }
  if (options.track_running_stats) {
    running_mean_ = register_buffer("running_mean", Tensor::zeros({num_features}));
    running_var_ = register_buffer("running_var", Tensor::full({num_features}, 1.0f));
    register_counter("num_batches_tracked", &num_batches_tracked_);
  }
}

void BatchNorm2d::reset_parameters(uint64_t) {
  // PyTorch's reset_parameters: running statistics back to (0, 1, 0), weight 1, bias 0.
  if (weight_.defined()) weight_.fill_(1.0f);
  if (bias_.defined()) bias_.fill_(0.0f);
  if (running_mean_.defined()) running_mean_.fill_(0.0f);
  if (running_var_.defined()) running_var_.fill_(1.0f);
  num_batches_tracked_ = 0;
}

Tensor BatchNorm2d::forward(const Tensor& x) { return normalize(x, false); }

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return normalize(x, true); }

Tensor BatchNorm2d::normalize(const Tensor& x, bool relu) {
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == num_features_, display_name(), ": expected input [N, ", num_features_,
              ", H, W], got ", to_string(x.shape()));
  ops::BatchNormOptions op;
  op.eps = options_.eps;
  op.training = is_training() || !options_.track_running_stats;
  op.momentum = options_.momentum.value_or(0.0f);
  if (is_training() && options_.track_running_stats) {
    ++num_batches_tracked_;
    if (!options_.momentum) op.momentum = 1.0f / static_cast<float>(num_batches_tracked_);
  }
  if (is_training()) op.sync = sync_;
  op.relu = relu;
  return ops::batch_norm2d(x, weight_, bias_, running_mean_, running_var_, op);
}

}  // namespace sugar::nn
