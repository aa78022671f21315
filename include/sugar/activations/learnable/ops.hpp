#pragma once
// The autograd ops behind the learnable activations, forward and backward side by side in one file
// each (src/activations/learnable/<name>.cpp). x is [N, C, ...] in any layout (plain, channels-last or
// blocked), f32 or bf16; y and dx keep x's layout and data type (padding lanes of blocked layouts stay
// zero); parameter gradients are plain f32 in the parameters' shapes.
#include "sugar/tensor.hpp"

namespace sugar::activations::learnable {

// PReLU (PyTorch's nn.PReLU(num_parameters=C)): y = x > 0 ? x : a_c * x with weight a [C].
// Backward as PyTorch's prelu kernels: dx = x > 0 ? dy : a_c * dy; da_c = sum over N, H, W of
// (x > 0 ? 0 : x * dy) (at x = 0 both sides agree, the contribution is 0).
Tensor prelu(const Tensor& x, const Tensor& weight);

// ACON-C (Ma et al., "Activate or Not", CVPR 2021): with d = p1 - p2 and s = sigmoid(beta * d * x),
//   y = d * x * s + p2 * x.
// p1, p2: C values ([1, C, 1, 1] as the reference code, or [C]); beta: C values (acon_c: one per
// channel) or N * C values ([N, C, 1, 1], meta_acon_c: one per sample and channel, any layout).
// With g = s + beta * d * x * s * (1 - s):
//   dx = dy * (d * g + p2),  dp1 = sum dy * x * g,  dp2 = sum dy * x * (1 - g),
//   dbeta = sum dy * (d * x)^2 * s * (1 - s)   (sums over H, W, and over N for per-channel values).
Tensor acon_c(const Tensor& x, const Tensor& p1, const Tensor& p2, const Tensor& beta);

// The funnel max of FReLU: y = max(x, t) element-wise, with the gradient routed to the winner;
// ties (t == x) go to x. t has x's shape and may have another layout (it is reordered to x's).
Tensor funnel_max(const Tensor& x, const Tensor& t);

// Maxout over k per-channel affine pieces: y = max_j (a[j, c] * x + b[j, c]), a and b [k, C]. The
// gradient goes through the winning piece j* (the first one on ties, as torch.max):
//   dx = dy * a[j*, c],  da[j*, c] += dy * x,  db[j*, c] += dy.
Tensor maxout(const Tensor& x, const Tensor& a, const Tensor& b);

}  // namespace sugar::activations::learnable
