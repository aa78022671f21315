#pragma once
// Training-mode fusion of a batch norm and the ReLU after it into one oneDNN batch-norm primitive
// (ops::BatchNormOptions::relu): the ReLU's own pass over the batch norm's output in the forward, and
// its pass over that output and dL/dy in the backward, go; the batch norm's backward masks dL/dy with
// one bit per value the forward kept. (Evaluation folds the batch norm into the convolution instead,
// with the activation as a post-op: nn/fused_inference.hpp.)
//
// A pair is fused only where the result is that of the two modules run in turn, bit for bit (values,
// gradients, running statistics), and only where a gradient is recorded (a training step):
//   - the activation site is a parameter-free nn::Activation whose spec is relu itself
//     (activations::is_relu). SUGAR and every other activation run by themselves: their backward
//     needs the batch norm's output, which the fused primitive never writes;
//   - the batch norm is not synchronised across ranks (train.sync_bn with several ranks);
//   - the site has no observer, or one that can watch from the ReLU's output
//     (ActivationObserver::watches_fused_relu: train::NeuronStats can).
// The bench's `--no-fusion` turns it off (set_training_fusion), to compare.
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"

namespace sugar::nn {

// Process-wide switch, on by default.
void set_training_fusion(bool enabled);
bool training_fusion_enabled();

// act(bn(x)), with the two fused as described above where allowed.
Tensor batch_norm_activation(BatchNorm2d& bn, ActivationModule& act, const Tensor& x);

}  // namespace sugar::nn
