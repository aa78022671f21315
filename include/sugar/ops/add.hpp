#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

// y = a + b, element-wise, same shape. The result keeps a's layout (b is reordered if it differs),
// so a residual sum stays in the blocked layout its convolution produced.
Tensor add(const Tensor& a, const Tensor& b);

// y[n, ...] = x[n, ...] + p[0, ...] for every n: a learned f32 [1, ...] parameter (ViT's position
// embedding) added to each sample. Read as plain, summed in f32; y is plain in x's data type (f32 or
// bf16). p's gradient is the sum of y's over the batch, in batch order.
Tensor add_to_each_sample(const Tensor& x, const Tensor& p);

}  // namespace sugar::ops
