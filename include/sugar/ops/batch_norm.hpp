#pragma once
#include "sugar/dist/communicator.hpp"
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct BatchNormOptions {
  bool training = true;
  float momentum = 0.1f;  // PyTorch's: running = (1 - momentum) * running + momentum * batch_stat
  float eps = 1e-5f;
  // Synchronised batch-norm (data parallelism): in training, the statistics are those of the global
  // batch, the union of every rank's x, and the backward is the gradient of that global normalisation,
  // so R ranks with batches of N/R compute what one process computes with N (PyTorch's SyncBatchNorm).
  // Null, or a communicator of size 1: each process normalises with its own batch.
  dist::Communicator* sync = nullptr;
  // y = max(bn(x), 0): a ReLU fused into the normalisation (oneDNN's fuse_norm_relu), which saves
  // the ReLU's own pass over y in the forward and its pass over y and dL/dy in the backward: the
  // batch norm's backward masks dL/dy itself, from one bit per value that the forward keeps. Values
  // and gradients are those of relu(batch_norm2d(x)) (ops::relu: gradient 0 where bn(x) <= 0) bit
  // for bit: where oneDNN would run the fused primitive with another kernel than the plain one
  // (which rounds differently), the two run one after the other instead. Not with sync in training.
  bool relu = false;
};

// Batch normalisation over N, H, W for each channel of x[N, C, H, W] (any layout, f32 or bf16; y has
// x's layout).
//
// weight (gamma) and bias (beta) are [C] and may be undefined (affine = false; each one on its own).
// running_mean / running_var are plain f32 [C] buffers, both defined or both undefined
// (track_running_stats = false).
//
// Training: normalises with the batch statistics (biased variance; for f32 input summed in double, so
// that they keep float precision over the 10^5-10^6 values per channel of a batch of large maps, as
// PyTorch's do; for bf16 input oneDNN's float32 sums) and, whatever the grad mode,
// updates the running buffers in place as PyTorch does, with M = N*H*W values per channel:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// Eval: normalises with the running statistics (batch statistics when there are none); the backward
// then treats them as constants (frozen batch-norm fine-tuning).
// Backward accumulates into x, weight and bias.
//
// With options.sync (training): each rank's per-channel mean and biased variance over its M_r values
// are gathered, and combined in rank order (so every rank gets identical numbers) as
//   M = sum M_r,  mean = sum M_r mean_r / M,  var = sum M_r (var_r + (mean_r - mean)^2) / M;
// the backward all-reduces sum(dy) and sum(dy * xhat) per channel and uses the global sums; weight and
// bias receive this rank's own sums (the gradient averaging across ranks adds them up later). Every
// rank must call it for the same layers in the same order (collectives match by order).
Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, const BatchNormOptions& options);

}  // namespace sugar::ops
