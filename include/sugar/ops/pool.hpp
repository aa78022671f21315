#pragma once
#include "sugar/ops/conv2d.hpp"
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct Pool2dOptions {
  Dims2 kernel{2, 2};
  Dims2 stride{0, 0};  // 0 = same as kernel (PyTorch's default)
  Dims2 padding{0, 0};
  bool count_include_pad = true;  // avg pool only; PyTorch's default
};

// Pooling on x[N, C, H, W] of any layout; y keeps a layout oneDNN picks for it (the blocked layout
// of x when x is blocked). OH = floor((H + 2*pad - kernel) / stride) + 1 (PyTorch, ceil_mode=false).
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);
// Mean over H and W: [N, C, H, W] -> [N, C, 1, 1] (AdaptiveAvgPool2d(1)).
Tensor global_avg_pool2d(const Tensor& x);

}  // namespace sugar::ops
