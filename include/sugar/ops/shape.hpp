#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// [N, d1, d2, ...] -> [N, d1*d2*...] in plain row-major order (PyTorch's flatten(1)); a blocked input
// is reordered here, which is the one reorder a CNN needs before its classifier.
Tensor flatten(const Tensor& x);

// x viewed with another shape of as many elements, in plain row-major order (a plain x without a copy);
// the gradient is reshaped back. (A weight stored as PyTorch's Linear [O, I] runs as a 1x1
// convolution's [O, I, 1, 1].)
Tensor reshape(const Tensor& x, const Shape& shape);

// ---- the token-tensor ops of ViT and Swin; each reads x as plain row-major and returns a plain copy,
// f32 or bf16 like x, with its gradient -------------------------------------------------------------

// y = x with its axes reordered: y.dim(i) = x.dim(order[i]) (torch.permute); one oneDNN reorder from a
// strided view. The gradient is permuted back.
Tensor permute(const Tensor& x, const std::vector<int>& order);

// x[..., start : start + length, ...] along `axis` (torch.narrow). The gradient is zero outside.
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t length);

// The tensors side by side along `axis` (torch.cat); every other axis, and the data type, agree.
Tensor concat(const std::vector<Tensor>& parts, int axis);

// y[..., i, ...] = x[..., (i - shift) mod n, ...] along `axis` (torch.roll: Swin's cyclic shift).
Tensor roll(const Tensor& x, int axis, int64_t shift);

}  // namespace sugar::ops
