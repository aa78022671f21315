#include "sugar/nn/pool.hpp"

#include "sugar/error.hpp"

namespace sugar::nn {

namespace {

// Validates as PyTorch does and resolves stride 0 to the kernel size.
ops::Pool2dOptions checked_pool_options(const char* layer, ops::Pool2dOptions options) {
  for (int axis = 0; axis < 2; ++axis) {
    SUGAR_CHECK(options.kernel[axis] > 0, layer, ": kernel_size must be positive, got [", options.kernel[0], ", ",
                options.kernel[1], "]");
    SUGAR_CHECK(options.stride[axis] >= 0, layer, ": stride must be positive (or 0 for kernel_size), got [",
                options.stride[0], ", ", options.stride[1], "]");
    if (options.stride[axis] == 0) options.stride[axis] = options.kernel[axis];
    SUGAR_CHECK(options.padding[axis] >= 0 && options.padding[axis] * 2 <= options.kernel[axis], layer,
                ": padding must be between 0 and half the kernel size, got padding [", options.padding[0], ", ",
                options.padding[1], "] for kernel [", options.kernel[0], ", ", options.kernel[1], "]");
  }
  return options;
}

ops::Pool2dOptions square(int64_t kernel, int64_t stride, int64_t padding, bool count_include_pad) {
  ops::Pool2dOptions options;
  options.kernel = {kernel, kernel};
  options.stride = {stride, stride};
  options.padding = {padding, padding};
  options.count_include_pad = count_include_pad;
  return options;
}

void check_image(const Module& m, const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4, m.display_name(), ": expected input [N, C, H, W], got ", to_string(x.shape()));
}

}  // namespace

MaxPool2d::MaxPool2d(int64_t kernel_size, int64_t stride, int64_t padding)
    : MaxPool2d(square(kernel_size, stride, padding, true)) {}
MaxPool2d::MaxPool2d(const ops::Pool2dOptions& options) : options_(checked_pool_options("MaxPool2d", options)) {}

Tensor MaxPool2d::forward(const Tensor& x) {
  check_image(*this, x);
  return ops::max_pool2d(x, options_);
}

AvgPool2d::AvgPool2d(int64_t kernel_size, int64_t stride, int64_t padding, bool count_include_pad)
    : AvgPool2d(square(kernel_size, stride, padding, count_include_pad)) {}
AvgPool2d::AvgPool2d(const ops::Pool2dOptions& options) : options_(checked_pool_options("AvgPool2d", options)) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  check_image(*this, x);
  return ops::avg_pool2d(x, options_);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t output_size) {
  SUGAR_CHECK(output_size == 1, "AdaptiveAvgPool2d: only output_size 1 (global average pooling) is supported, got ",
              output_size);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  check_image(*this, x);
  return ops::global_avg_pool2d(x);
}

}  // namespace sugar::nn
