#pragma once
#include "sugar/nn/module.hpp"
#include "sugar/ops/pool.hpp"

namespace sugar::nn {

// nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0), ceil_mode false.
class MaxPool2d : public Module {
 public:
  // stride 0 means "same as kernel_size" (PyTorch's stride=None).
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  explicit MaxPool2d(const ops::Pool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  const ops::Pool2dOptions& options() const { return options_; }

 private:
  ops::Pool2dOptions options_;
};

// nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0, count_include_pad=True), ceil_mode false.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0, bool count_include_pad = true);
  explicit AvgPool2d(const ops::Pool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  const ops::Pool2dOptions& options() const { return options_; }

 private:
  ops::Pool2dOptions options_;
};

// nn.AdaptiveAvgPool2d(1): [N, C, H, W] -> [N, C, 1, 1]. Only output size 1 is supported (the one
// CIFAR ResNets and VGGs use); any other size is a sugar::Error.
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(int64_t output_size = 1);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
};

}  // namespace sugar::nn
