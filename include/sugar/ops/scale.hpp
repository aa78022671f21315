#pragma once
// Multiplications by a factor per channel or per sample, for x [N, C, ...] in any layout (plain,
// channels-last, blocked), f32 or bf16; y and dL/dx keep x's layout and data type.
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::ops {

// Layer scale (ConvNeXt, CaiT): y[n, c, ...] = x[n, c, ...] * gamma[c], gamma holding C values in any
// shape ([C], [C, 1, 1] as torchvision's CNBlock, [1, C, 1, 1]); or, with gamma [N, C, 1, 1] (any
// layout), a factor per sample and channel: squeeze-and-excitation's gate, y = x * gamma[n, c].
// Backward: dx = dy * gamma; dgamma = the sum of dy * x over positions (and over samples for a
// per-channel gamma), in gamma's shape.
Tensor channel_scale(const Tensor& x, const Tensor& gamma);

// y[n, ...] = x[n, ...] * factors[n], one constant per sample (stochastic depth: 0 for a dropped sample,
// 1 / (1 - p) for a kept one). Backward: dx = dy * factors[n].
Tensor sample_scale(const Tensor& x, const std::vector<float>& factors);

}  // namespace sugar::ops
