#pragma once
#include <optional>

#include "sugar/dist/communicator.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::nn {

struct BatchNorm2dOptions {
  float eps = 1e-5f;
  // running = (1 - momentum) * running + momentum * batch_stat; nullopt = cumulative moving average
  // (momentum 1 / num_batches_tracked), as PyTorch's momentum=None.
  std::optional<float> momentum = 0.1f;
  bool affine = true;               // learnable weight and bias
  bool track_running_stats = true;  // running_mean, running_var, num_batches_tracked
};

// nn.BatchNorm2d over x[N, C, H, W]. Parameters weight [C] = 1, bias [C] = 0 (when affine); buffers
// running_mean [C] = 0, running_var [C] = 1 and the counter num_batches_tracked = 0 (when tracking).
// Training normalises with batch statistics, updates the running ones and increments
// num_batches_tracked (also in no-grad mode, as PyTorch). Eval normalises with the running statistics,
// or with batch statistics when they are not tracked.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, const BatchNorm2dOptions& options = {});

  Tensor forward(const Tensor& x) override;
  // max(forward(x), 0) with the ReLU fused into the normalisation (ops::BatchNormOptions::relu):
  // nn/batch_norm_relu.hpp decides where a model's batch norm and ReLU run this way. Not while
  // synchronised in training (sugar::Error).
  Tensor forward_relu(const Tensor& x);
  bool synchronised() const { return sync_ != nullptr && sync_->size() > 1; }
  std::string type_name() const override { return "BatchNorm2d"; }
  void reset_parameters(uint64_t seed) override;

  int64_t num_features() const { return num_features_; }
  const BatchNorm2dOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  int64_t num_batches_tracked() const { return num_batches_tracked_; }
  // Synchronised batch-norm (train.sync_bn): in training mode, normalise with the statistics of the
  // batch of every rank of `communicator` (ops::BatchNormOptions::sync); null turns it off.
  void set_sync(dist::Communicator* communicator) { sync_ = communicator; }

 private:
  Tensor normalize(const Tensor& x, bool relu);

  int64_t num_features_;
  BatchNorm2dOptions options_;
  Tensor weight_, bias_, running_mean_, running_var_;
  int64_t num_batches_tracked_ = 0;
  dist::Communicator* sync_ = nullptr;
};

}  // namespace sugar::nn
