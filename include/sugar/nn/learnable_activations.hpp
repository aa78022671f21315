#pragma once
// The learnable and spatial activations as modules (their autograd ops, forward and backward side by
// side, are activations/learnable/ops.hpp): each activation site of a model gets its own
// parameters, which the optimizer updates and checkpoints save under the site's dotted name
// (`layer1.0.act1.weight` for PReLU, as PyTorch names nn.PReLU's parameter).
//
//   module       parameters (and buffers)                         initial values (spec parameters)
//   PReLU        weight [C]                                       init (0.25)
//   AconC        p1, p2, beta [1, C, 1, 1]                        p1 (1), p2 (0), beta (1)
//   MetaAconC    p1, p2 [1, C, 1, 1]; fc1 (1x1 conv C -> M, bias), p1 (1), p2 (0); fc1, fc2 as Conv2d
//                fc2 (1x1 conv M -> C, bias), M = max(r, C / r)   (Kaiming-normal fan_out, bias 0)
//   FReLU        conv.weight [C, 1, 3, 3] (depthwise, no bias),   conv as Conv2d; bn weight 1, bias 0
//                bn.weight, bn.bias [C], bn.running_mean/var,
//                bn.num_batches_tracked
//   Maxout       a, b [k, C]                                      a[0] = 1, b[0] = 0, others 0: ReLU
//
// Choices where the reference code varies:
// - AconC and MetaAconC initialise p1 = 1, p2 = 0 (the defaults; the reference code draws them
//   from randn), which makes ACON-C start as SiLU-like x * sigmoid(beta * x).
// - MetaAconC has no batch-norm in its beta network: the first release of the ACON code had BN after
//   fc1 and fc2, the later one removed them; Sugar follows the later one (and the paper's formula
//   beta = sigmoid(W2 W1 mean(x))), with biases on both 1x1 convolutions. M uses C / r rounded down.
// - FReLU's depthwise convolution has no bias: the BatchNorm right after it subtracts the batch mean,
//   so a bias would receive exactly zero gradient in training and cancel in evaluation (the running
//   mean absorbs it). The reference code's nn.Conv2d default has one; a checkpoint converted from it
//   drops conv_frelu.bias (and renames conv_frelu/bn_frelu to conv/bn).
// - Maxout's ties go to the lowest piece index (torch.max). Starting as ReLU, at x = 0 the pieces x and
//   0 tie and the gradient is a[0] = 1 where ReLU's is 0; the forward is exactly ReLU.
//
// Inputs are [N, C, H, W] in any layout (MetaAconC and FReLU need the 4 dimensions; PReLU, AconC and
// Maxout also accept [N, C]). Outputs keep x's layout.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"

namespace sugar::nn {

// (row name, factory building the module for a site with C channels) for each of the five learnable
// rows: nn::make_activation's factory table starts with them, so every program that builds models has
// them without a registration call. Their rows (the names and spec parameters) are in the activation
// table from the start (activations/learnable/rows.hpp).
std::vector<std::pair<std::string, ActivationModuleFactory>> learnable_activation_factories();

// What the five modules share: the spec they were built from and the channel count of their site.
class LearnableActivation : public ActivationModule {
 public:
  const activations::ActivationSpec& spec() const override { return spec_; }
  int64_t channels() const { return channels_; }

 protected:
  // Throws sugar::Error (usage) when spec is not a spec of `row_name` or channels <= 0.
  LearnableActivation(activations::ActivationSpec spec, int64_t channels, const char* row_name);
  // Throws sugar::Error naming the site, the expected and the actual shape.
  void check_input(const Tensor& x, bool needs_spatial) const;

  activations::ActivationSpec spec_;
  int64_t channels_;
};

class PReLU : public LearnableActivation {
 public:
  PReLU(activations::ActivationSpec spec, int64_t channels);
  std::string type_name() const override { return "PReLU"; }
  void reset_parameters(uint64_t seed) override;
  const Tensor& weight() const { return weight_; }

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  Tensor weight_;
};

class AconC : public LearnableActivation {
 public:
  AconC(activations::ActivationSpec spec, int64_t channels);
  std::string type_name() const override { return "AconC"; }
  void reset_parameters(uint64_t seed) override;
  const Tensor& p1() const { return p1_; }
  const Tensor& p2() const { return p2_; }
  const Tensor& beta() const { return beta_; }

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  Tensor p1_, p2_, beta_;
};

class MetaAconC : public LearnableActivation {
 public:
  MetaAconC(activations::ActivationSpec spec, int64_t channels);
  std::string type_name() const override { return "MetaAconC"; }
  void reset_parameters(uint64_t seed) override;
  const Tensor& p1() const { return p1_; }
  const Tensor& p2() const { return p2_; }
  int64_t hidden_channels() const { return hidden_; }
  // beta = sigmoid(fc2(fc1(global_avg_pool(x)))), [N, C, 1, 1]: what forward uses.
  Tensor beta(const Tensor& x);

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  int64_t hidden_;
  Tensor p1_, p2_;
  std::shared_ptr<Conv2d> fc1_, fc2_;
};

class FReLU : public LearnableActivation {
 public:
  FReLU(activations::ActivationSpec spec, int64_t channels);
  std::string type_name() const override { return "FReLU"; }
  Conv2d& conv() { return *conv_; }
  BatchNorm2d& bn() { return *bn_; }

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;
};

class Maxout : public LearnableActivation {
 public:
  Maxout(activations::ActivationSpec spec, int64_t channels);
  std::string type_name() const override { return "Maxout"; }
  void reset_parameters(uint64_t seed) override;
  int64_t pieces() const { return pieces_; }
  const Tensor& a() const { return a_; }
  const Tensor& b() const { return b_; }

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  int64_t pieces_;
  Tensor a_, b_;
};

}  // namespace sugar::nn
