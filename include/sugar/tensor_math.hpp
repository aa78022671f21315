#pragma once
// Small layout-preserving arithmetic on tensors, below autograd (which sums gradients with it) and the
// ops (no autograd recording here).
#include "sugar/tensor.hpp"

namespace sugar {

// a + b for two tensors of identical shape; b is reordered to a's layout if needed. The result has
// a's layout (padding lanes stay zero).
Tensor add_same_layout(const Tensor& a, const Tensor& b);

}  // namespace sugar
