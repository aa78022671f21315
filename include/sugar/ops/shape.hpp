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

}  // namespace sugar::ops
