#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// y = max(x, 0) on any layout (y has x's layout); gradient 0 where x <= 0 (PyTorch's convention).
Tensor relu(const Tensor& x);

}  // namespace sugar::ops
