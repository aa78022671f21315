#pragma once
// Softmax along the last axis, with autograd (oneDNN softmax, forward and backward):
//   y_i = exp(x_i - max x) / sum_j exp(x_j - max x),   dx_i = y_i * (dy_i - sum_j dy_j * y_j).
// Any number of axes and any layout in; plain out, f32 or bf16 like x. The backward keeps y, not x.
#include "sugar/tensor.hpp"

namespace sugar::ops {

Tensor softmax(const Tensor& x);

// The same two passes without autograd, on plain tensors (what attention recomputes in its backward).
Tensor softmax_values(const Tensor& x);
Tensor softmax_backward_values(const Tensor& y, const Tensor& dy);

}  // namespace sugar::ops
