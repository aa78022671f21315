#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// y = max(x, 0) on any layout (y has x's layout); gradient 0 where x <= 0 (PyTorch's convention).
Tensor relu(const Tensor& x);
// ReLU's dx from its output y: dy where y > 0, 0 elsewhere (y > 0 exactly where x > 0), so the
// backward keeps y, not x. dx has y's layout.
Tensor relu_backward(const Tensor& y, const Tensor& dy);

}  // namespace sugar::ops
