#pragma once
// Naive double-precision reference loops for the forward of conv2d and linear: the obviously-correct
// definitions the oneDNN results are compared against. Inputs are plain row-major values.
#include <cstdint>
#include <vector>

#include "sugar/ops/conv2d.hpp"
#include "sugar/tensor.hpp"

namespace sugar::testkit {

// PyTorch's conv2d: y[n][o][oh][ow] = bias[o] + sum over c in o's group, kh, kw of
//   x[n][c][oh*stride - pad + kh*dilation][ow*stride - pad + kw*dilation] * w[o][c - group_start][kh][kw]
// (zero outside the image). `bias` may be empty. Returns y row-major with shape `*out_shape`.
std::vector<double> reference_conv2d(const std::vector<float>& x, const Shape& x_shape, const std::vector<float>& weight,
                                     const Shape& weight_shape, const std::vector<float>& bias,
                                     const ops::Conv2dOptions& options, Shape* out_shape);

// y[n][o] = bias[o] + sum_i x[n][i] * weight[o][i]; `bias` may be empty.
std::vector<double> reference_linear(const std::vector<float>& x, const Shape& x_shape, const std::vector<float>& weight,
                                     const Shape& weight_shape, const std::vector<float>& bias);

}  // namespace sugar::testkit
