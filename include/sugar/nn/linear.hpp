#pragma once
#include <optional>

#include "sugar/nn/layer_call.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::nn {

// nn.Linear: y = x W^T + b with weight [out, in] and bias [out], for x [N, in]. For a feature map
// x [N, in, H, W] it is applied at every pixel, y [N, out, H, W] (what torchvision's ConvNeXt does with
// nn.Linear on channels-last maps), and runs as a 1x1 convolution with the same weight.
// Initialisation is PyTorch's default: weight ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with
// a = sqrt(5)), bias ~ U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::vector<Tensor> decayed_weights() const override { return {weight_}; }
  void count_flops(DirectFlops& totals) const override;
  void reset_parameters(uint64_t seed) override;

  // init::ConvInit::trunc_normal draws the weight from trunc_normal_(std=0.02) (ConvNeXt's init),
  // torchvision_mobilenet from N(0, 0.01), both with bias 0; the other schemes keep PyTorch's default.
  void set_init(init::ConvInit scheme) { init_ = scheme; }

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined without bias
  // Whether the last forward's input needed a gradient (output positions are 1); unset before it.
  const std::optional<LayerCall>& last_call() const { return last_call_; }

 private:
  int64_t in_features_;
  int64_t out_features_;
  Tensor weight_;
  Tensor bias_;
  std::optional<LayerCall> last_call_;
  init::ConvInit init_ = init::ConvInit::pytorch_default;
};

}  // namespace sugar::nn
