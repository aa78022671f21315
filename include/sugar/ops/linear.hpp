#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// y[N, O] = x[N, I] * weight[O, I]^T + bias[O] (PyTorch's nn.Linear). weight and bias are plain;
// bias may be undefined. x may be any layout of a 2-d tensor; y is plain.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace sugar::ops
