#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// [N, d1, d2, ...] -> [N, d1*d2*...] in plain row-major order (PyTorch's flatten(1)); a blocked input
// is reordered here, which is the one reorder a CNN needs before its classifier.
Tensor flatten(const Tensor& x);

}  // namespace sugar::ops
