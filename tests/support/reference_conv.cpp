#include "support/reference_conv.hpp"

namespace sugar::testkit {

std::vector<double> reference_conv2d(const std::vector<float>& x, const Shape& x_shape, const std::vector<float>& weight,
                                     const Shape& weight_shape, const std::vector<float>& bias,
                                     const ops::Conv2dOptions& options, Shape* out_shape) {
  const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3];
  const int64_t O = weight_shape[0], Cg = weight_shape[1], KH = weight_shape[2], KW = weight_shape[3];
  const int64_t G = options.groups, Og = O / G;
  const auto [SH, SW] = options.stride;
  const auto [PH, PW] = options.padding;
  const auto [DH, DW] = options.dilation;
  const int64_t OH = (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
  const int64_t OW = (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
  *out_shape = {N, O, OH, OW};
  std::vector<double> y(N * O * OH * OW, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t first_channel = (o / Og) * Cg;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double sum = bias.empty() ? 0.0 : bias[o];
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t c = first_channel + cg;
                sum += static_cast<double>(x[((n * C + c) * H + ih) * W + iw]) *
                       weight[((o * Cg + cg) * KH + kh) * KW + kw];
              }
          y[((n * O + o) * OH + oh) * OW + ow] = sum;
        }
    }
  return y;
}

namespace {

// Calls tap(x_index, weight_index, y_index) for every multiply of the convolution of reference_conv2d.
template <class Tap>
void for_each_tap(const Shape& x_shape, const Shape& weight_shape, const ops::Conv2dOptions& options, Tap tap) {
  const int64_t N = x_shape[0], C = x_shape[1], H = x_shape[2], W = x_shape[3];
  const int64_t O = weight_shape[0], Cg = weight_shape[1], KH = weight_shape[2], KW = weight_shape[3];
  const int64_t Og = O / options.groups;
  const auto [SH, SW] = options.stride;
  const auto [PH, PW] = options.padding;
  const auto [DH, DW] = options.dilation;
  const int64_t OH = (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
  const int64_t OW = (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t cg = 0; cg < Cg; ++cg)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t c = (o / Og) * Cg + cg;
                tap(((n * C + c) * H + ih) * W + iw, ((o * Cg + cg) * KH + kh) * KW + kw,
                    ((n * O + o) * OH + oh) * OW + ow);
              }
}

int64_t count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

std::vector<double> reference_conv2d_backward_data(const std::vector<float>& grad_y, const Shape& x_shape,
                                                   const std::vector<float>& weight, const Shape& weight_shape,
                                                   const ops::Conv2dOptions& options) {
  std::vector<double> dx(static_cast<size_t>(count(x_shape)), 0.0);
  for_each_tap(x_shape, weight_shape, options, [&](int64_t xi, int64_t wi, int64_t yi) {
    dx[xi] += static_cast<double>(grad_y[yi]) * weight[wi];
  });
  return dx;
}

std::vector<double> reference_conv2d_backward_weights(const std::vector<float>& x, const Shape& x_shape,
                                                      const std::vector<float>& grad_y, const Shape& weight_shape,
                                                      const ops::Conv2dOptions& options) {
  std::vector<double> dw(static_cast<size_t>(count(weight_shape)), 0.0);
  for_each_tap(x_shape, weight_shape, options, [&](int64_t xi, int64_t wi, int64_t yi) {
    dw[wi] += static_cast<double>(grad_y[yi]) * x[xi];
  });
  return dw;
}

std::vector<double> reference_linear(const std::vector<float>& x, const Shape& x_shape, const std::vector<float>& weight,
                                     const Shape& weight_shape, const std::vector<float>& bias) {
  const int64_t N = x_shape[0], I = x_shape[1], O = weight_shape[0];
  std::vector<double> y(N * O);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double sum = bias.empty() ? 0.0 : bias[o];
      for (int64_t i = 0; i < I; ++i) sum += static_cast<double>(x[n * I + i]) * weight[o * I + i];
      y[n * O + o] = sum;
    }
  return y;
}

}  // namespace sugar::testkit
