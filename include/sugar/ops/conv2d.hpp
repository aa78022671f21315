#pragma once
#include <array>
#include <memory>
#include <optional>

#include "sugar/ops/conv_algorithm.hpp"
#include "sugar/ops/eltwise.hpp"
#include "sugar/tensor.hpp"

namespace sugar::ops {

using Dims2 = std::array<int64_t, 2>;  // (height, width)

struct Conv2dOptions {
  Dims2 stride{1, 1};
  Dims2 padding{0, 0};
  Dims2 dilation{1, 1};  // PyTorch convention: 1 = dense kernel (oneDNN counts from 0)
  int64_t groups = 1;
  // The algorithm policy (conv_algorithm.hpp); unset = direct.
  std::optional<ConvAlgoPolicy> algorithm;
};

// What a convolution layer (nn::Conv2d) keeps between calls.
struct Conv2dState {
  // A recorded choice to reuse instead of deciding afresh (a resumed run): applies when its layer
  // and policy match the call's.
  std::optional<ConvLayerChoice> pinned;
  // The choice the last call used; later calls of the same layer shape and policy reuse it.
  std::optional<ConvLayerChoice> choice;
  // The weight in the forward primitive's layout and data type, reused while the weight's storage,
  // its write version (Tensor::version, bumped by the optimizer step) and the layout are the same:
  // evaluation reorders each weight once per optimizer step instead of once per batch.
  Tensor weight_in_layout;
  std::weak_ptr<Storage> weight_source;  // weak: a new weight at a freed one's address is not taken for it
  uint64_t weight_version = 0;
};

// y[N, O, OH, OW] = conv(x[N, C, H, W], weight[O, C/groups, KH, KW]) + bias[O], with PyTorch's output
// size OH = floor((H + 2 * padding - dilation * (KH - 1) - 1) / stride) + 1 (likewise OW).
// x may have any layout and be f32 or bf16 (the convolution runs in x's data type; weight and bias
// are converted). weight and bias are plain (PyTorch's layout, what optimizers and checkpoints see);
// bias may be undefined. y comes out in the layout oneDNN prefers for this convolution (nChw16c for
// fp32 on AVX-512), so the next layer can consume it without a reorder. Gradients reach x in x's own
// layout and weight/bias in their plain layout and data type.
//
// The algorithm of each pass follows options.algorithm (see conv_algorithm.hpp); `state`, when given,
// carries the layer's pinned and last choice and its reordered weight from call to call.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options = {},
              Conv2dState* state = nullptr);

// What an inference-only convolution does beyond conv2d (nn/fused_inference.hpp builds it).
struct Conv2dFusion {
  // The eltwise applied to the output inside the convolution (a oneDNN post-op): y = f(conv(x) + b).
  std::optional<EltwiseOp> activation;
  // Whether the layer itself has a bias. False when `bias` is a batch norm folded into a bias-free
  // convolution: the algorithm choice is then keyed, pinned and recorded as the layer's own (shared
  // with training) and not as a new biased layer.
  bool layer_has_bias = false;
};

// conv2d for evaluation only, with `fusion`: the same result as fusion.activation applied to
// conv2d(x, weight, bias, options, state), in one pass over the output. Where the chosen
// implementation cannot apply the eltwise as a post-op, it runs as a separate eltwise.
// Throws sugar::Error when a gradient would be needed (grad mode on and x, weight or bias requiring
// one): nothing is recorded for autograd.
Tensor conv2d_inference(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dFusion& fusion,
                        const Conv2dOptions& options = {}, Conv2dState* state = nullptr);

}  // namespace sugar::ops
