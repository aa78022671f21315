#pragma once
// Evaluation-mode fusion of convolution -> batch norm -> activation into one convolution.
//
// In evaluation a batch norm is a fixed affine map per channel, y = (x - mean) * s + beta with
// s = gamma / sqrt(running_var + eps), so it folds into the convolution before it:
//   weight'[o] = weight[o] * s[o],   bias'[o] = (bias[o] - mean[o]) * s[o] + beta[o]
// (bias = 0 for a bias-free convolution). An activation whose forward is one oneDNN eltwise (ReLU,
// and therefore every SUGAR activation, whose forward is ReLU; leaky_relu, elu, gelu, silu, mish,
// rrelu in evaluation, ...) then runs as the convolution's post-op, on the output while it is still
// in cache. Three passes over the activations and two output tensors become one.
//
// Fusion happens only where it cannot change what a caller observes beyond rounding:
//   - the convolution and batch norm are in evaluation mode and the batch norm has running
//     statistics (the activation is fused by the function it computes in its own mode);
//   - no gradient is needed (grad mode off, or nothing requires one): fusion records no backward;
//   - the activation is fused only when no observer watches its input (train::NeuronStats measures
//     pre-activations: the folded convolution still hands it the batch norm's output) and it is a
//     parameter-free nn::Activation with a oneDNN forward (learnable modules run by themselves).
// Anything else runs the modules one after the other, exactly as without fusion.
//
// The folded weight and bias are computed once and kept in the convolution while none of the six
// tensors they come from (weight and bias of both, running mean and variance) has been written (Tensor::version): evaluation after an epoch folds once,
// not once per batch.
#include <optional>

#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"

namespace sugar::nn {

// Process-wide switch, on by default. Off: evaluation runs every module by itself (to compare, and
// for `sugar bench --no-fusion`).
void set_inference_fusion(bool enabled);
bool inference_fusion_enabled();

// y = act(bn(conv(x))), with bn and act optional (null), fused as described above where allowed; in
// training, bn and act go through batch_norm_activation (nn/batch_norm_relu.hpp).
Tensor conv_bn_activation(Conv2d& conv, BatchNorm2d* bn, ActivationModule* act, const Tensor& x);

// The batch norm folded into conv's weight and bias (bn may be null: conv's own weight and bias).
// Computed in double from the plain f32 parameters; for the formula see above. Throws sugar::Error
// when bn has no running statistics.
FoldedConv fold_batch_norm(const Conv2d& conv, const BatchNorm2d* bn);

}  // namespace sugar::nn
