#pragma once
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct BatchNormOptions {
  bool training = true;
  float momentum = 0.1f;  // PyTorch's: running = (1 - momentum) * running + momentum * batch_stat
  float eps = 1e-5f;
};

// Batch normalisation over N, H, W for each channel of x[N, C, H, W] (any layout, f32 or bf16; y has
// x's layout).
//
// weight (gamma) and bias (beta) are [C] and may be undefined (affine = false; each one on its own).
// running_mean / running_var are plain f32 [C] buffers, both defined or both undefined
// (track_running_stats = false).
//
// Training: normalises with the batch statistics (biased variance) and, whatever the grad mode,
// updates the running buffers in place as PyTorch does, with M = N*H*W values per channel:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// Eval: normalises with the running statistics (batch statistics when there are none); the backward
// then treats them as constants (frozen batch-norm fine-tuning).
// Backward accumulates into x, weight and bias.
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, const BatchNormOptions& options);

}  // namespace sugar::ops
