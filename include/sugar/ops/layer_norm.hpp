#pragma once
// Layer normalisation (Ba et al. 2016): each row of C values is normalised by its own mean and biased
// variance, then scaled and shifted per channel,
//   y = (x - mean) / sqrt(var + eps) * weight + bias,   mean and var over the C values of the row,
// as PyTorch's F.layer_norm over the last dimension. Two views of "a row":
//   layer_norm    x [..., C] (tokens [N, T, C], features [N, C]): the last dimension; y is plain.
//   layer_norm2d  x [N, C, H, W] (a feature map, any layout): the C channels of each pixel, as
//                 torchvision's ConvNeXt LayerNorm2d (permute to channels-last, layer_norm, permute
//                 back); y is channels-last (nhwc), the layout whose rows are contiguous.
// x is f32 or bf16 (y keeps its type; mean and variance are f32). weight and bias are [C] and may each
// be undefined (no scale, no shift). Backward (oneDNN layer normalisation, side by side below)
// accumulates into x, weight and bias; the parameters' gradients are f32.
#include "sugar/tensor.hpp"

namespace sugar::ops {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);
Tensor layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-6f);

}  // namespace sugar::ops
