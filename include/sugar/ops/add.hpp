#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// y = a + b, element-wise, same shape. The result keeps a's layout (b is reordered if it differs),
// so a residual sum stays in the blocked layout its convolution produced.
Tensor add(const Tensor& a, const Tensor& b);

}  // namespace sugar::ops
