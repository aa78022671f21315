#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "sugar/nn/init.hpp"
#include "sugar/nn/layer_call.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/ops/conv2d.hpp"

namespace sugar::nn {

class BatchNorm2d;

// A convolution's weight and bias with the batch norm after it folded in (nn/fused_inference.hpp),
// valid while the tensors it was computed from are unchanged: same storages, same write versions.
struct FoldedConv {
  Tensor weight;
  Tensor bias;
  std::vector<std::weak_ptr<Storage>> sources;
  std::vector<uint64_t> versions;
};

// nn.Conv2d. Parameters: weight [O, I/groups, KH, KW] and, when bias is on, bias [O].
// Initialisation: init::ConvInit (nn/init.hpp), torchvision's unless set_init says otherwise; the
// models set what model.init asks for (models::ModelOptions::init).
class Conv2d : public Module {
 public:
  // PyTorch's positional order: in, out, kernel_size, stride, padding, dilation, groups, bias.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, int64_t groups = 1, bool bias = true);
  // Rectangular kernels and per-axis stride/padding/dilation.
  Conv2d(int64_t in_channels, int64_t out_channels, ops::Dims2 kernel_size, const ops::Conv2dOptions& options,
         bool bias = true);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::vector<Tensor> decayed_weights() const override { return {weight_}; }
  void count_flops(DirectFlops& totals) const override;
  void reset_parameters(uint64_t seed) override;
  // The scheme the next reset_parameters (nn::initialize) draws from.
  void set_init(init::ConvInit scheme) { init_ = scheme; }
  init::ConvInit init_scheme() const { return init_; }

  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  const ops::Conv2dOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias

  // The convolution algorithm policy (ops/conv_algorithm.hpp; unset = direct). A trainer sets it
  // for every layer from train.conv_algo (nn::set_conv_algorithm).
  void set_algorithm_policy(std::optional<ops::ConvAlgoPolicy> policy) { options_.algorithm = policy; }
  // A recorded choice (a checkpoint's) to reuse when its layer shape and policy match the calls'.
  void pin_algorithms(const ops::ConvLayerChoice& choice) { state_.pinned = choice; }
  // What the last forward ran; unset before the first forward.
  const std::optional<ops::ConvLayerChoice>& algorithm_choice() const { return state_.choice; }
  // The output size and gradient need of the last forward (either kind); unset before the first.
  const std::optional<LayerCall>& last_call() const { return last_call_; }

  // Evaluation only (nn/fused_inference.hpp): act(bn(conv(x))) as one convolution, with bn (may be
  // null) folded into the weight and bias and `activation` (may be empty) as its post-op. Uses and
  // records the same algorithm choice as forward().
  Tensor forward_fused(const Tensor& x, const BatchNorm2d* bn, const std::optional<ops::EltwiseOp>& activation);

 private:
  void check_input(const Tensor& x) const;

  int64_t in_channels_;
  int64_t out_channels_;
  ops::Conv2dOptions options_;
  init::ConvInit init_ = init::ConvInit::torchvision;
  Tensor weight_;
  Tensor bias_;
  ops::Conv2dState state_;
  FoldedConv folded_;                      // forward_fused's weight and bias
  const BatchNorm2d* folded_bn_ = nullptr;  // the batch norm folded_ was made with
  std::optional<LayerCall> last_call_;
};

}  // namespace sugar::nn
