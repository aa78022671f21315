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

// The gradients of L = sum(grad_y * y) for that convolution (its backward passes), by the same
// indexing: dL/dx[n][c][ih][iw] = sum of grad_y[n][o][oh][ow] * w[o][c - group_start][kh][kw] over
// the (o, oh, ow, kh, kw) whose tap reads x[n][c][ih][iw]; dL/dw[o][cg][kh][kw] = sum over n, oh, ow of
// grad_y[n][o][oh][ow] * x[n][group_start + cg][ih][iw]. Row-major, shapes x_shape and weight_shape.
std::vector<double> reference_conv2d_backward_data(const std::vector<float>& grad_y, const Shape& x_shape,
                                                   const std::vector<float>& weight, const Shape& weight_shape,
                                                   const ops::Conv2dOptions& options);
std::vector<double> reference_conv2d_backward_weights(const std::vector<float>& x, const Shape& x_shape,
                                                      const std::vector<float>& grad_y, const Shape& weight_shape,
                                                      const ops::Conv2dOptions& options);

// y[n][o] = bias[o] + sum_i x[n][i] * weight[o][i]; `bias` may be empty.
std::vector<double> reference_linear(const std::vector<float>& x, const Shape& x_shape, const std::vector<float>& weight,
                                     const Shape& weight_shape, const std::vector<float>& bias);

}  // namespace sugar::testkit
