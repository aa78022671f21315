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
