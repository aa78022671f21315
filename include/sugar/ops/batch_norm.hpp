#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct BatchNormOptions {
  bool training = true;
  float momentum = 0.1f;  // PyTorch's: running = (1 - momentum) * running + momentum * batch_stat
  float eps = 1e-5f;
};

// Batch normalisation over N, H, W for each channel of x[N, C, H, W] (any layout; y has x's layout).
// weight (gamma) and bias (beta) are plain [C] and may both be undefined (affine = false).
// Training: normalises with the batch statistics and updates running_mean / running_var in place
// (the running variance uses the unbiased batch variance, as PyTorch does). Eval: uses the running
// statistics. running_mean / running_var are plain f32 [C] buffers.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, const BatchNormOptions& options);

}  // namespace sugar::ops
