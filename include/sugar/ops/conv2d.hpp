#pragma once
#include <array>

#include "sugar/tensor.hpp"

namespace sugar::ops {

using Dims2 = std::array<int64_t, 2>;  // (height, width)

struct Conv2dOptions {
  Dims2 stride{1, 1};
  Dims2 padding{0, 0};
  Dims2 dilation{1, 1};  // PyTorch convention: 1 = dense kernel (oneDNN counts from 0)
  int64_t groups = 1;
};

// y[N, O, OH, OW] = conv(x[N, C, H, W], weight[O, C/groups, KH, KW]) + bias[O], with PyTorch's output
// size OH = floor((H + 2 * padding - dilation * (KH - 1) - 1) / stride) + 1 (likewise OW).
// x may have any layout and be f32 or bf16 (the convolution runs in x's data type; weight and bias
// are converted). weight and bias are plain (PyTorch's layout, what optimizers and checkpoints see);
// bias may be undefined. y comes out in the layout oneDNN prefers for this convolution (nChw16c for
// fp32 on AVX-512), so the next layer can consume it without a reorder. Gradients reach x in x's own
// layout and weight/bias in their plain layout and data type.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options = {});

}  // namespace sugar::ops
