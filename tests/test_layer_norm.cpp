// ops::layer_norm and layer_norm2d against the definition evaluated in double here (each row's mean and
// biased variance), in every layout a feature map comes in; the backward's closed forms where the
// parameters are absent; bad arguments. Finite differences for every parameter and layout, and bf16
// against f32: tests/test_every_module.cpp (LayerNorm, LayerNorm2d).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/ops/layer_norm.hpp"

namespace {
using namespace sugar;

// scale * sin(frequency * i) + offset: values of no simple pattern (a gradient affine in x's own values
// would make a layer norm's dL/dx vanish, so inputs and gradients use different frequencies).
std::vector<float> ramp(int64_t count, float scale, float offset, float frequency = 0.7f) {
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = std::sin(frequency * static_cast<float>(i)) * scale + offset;
  return v;
}

// y[r, c] for rows r of C values at x[row_start(r) + c * stride].
template <class At>
std::vector<double> reference(int64_t rows, int64_t channels, At at, const std::vector<float>& w,
                              const std::vector<float>& b, double eps) {
  std::vector<double> y(static_cast<size_t>(rows * channels));
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < channels; ++c) mean += at(r, c);
    mean /= static_cast<double>(channels);
    for (int64_t c = 0; c < channels; ++c) var += (at(r, c) - mean) * (at(r, c) - mean);
    var /= static_cast<double>(channels);
    for (int64_t c = 0; c < channels; ++c)
      y[static_cast<size_t>(r * channels + c)] =
          (at(r, c) - mean) / std::sqrt(var + eps) * (w.empty() ? 1.0 : w[c]) + (b.empty() ? 0.0 : b[c]);
  }
  return y;
}

TEST(LayerNorm, TokensMatchTheDefinition) {
  const int64_t N = 2, T = 3, C = 5;
  const std::vector<float> xs = ramp(N * T * C, 2.0f, 0.3f), w = ramp(C, 0.5f, 1.0f), b = ramp(C, 0.2f, -0.1f);
  const Tensor y = ops::layer_norm(Tensor::from_vector({N, T, C}, xs), Tensor::from_vector({C}, w),
                                   Tensor::from_vector({C}, b), 1e-5f);
  ASSERT_EQ(y.shape(), (Shape{N, T, C}));
  EXPECT_TRUE(y.is_plain());
  const std::vector<double> expected = reference(
      N * T, C, [&](int64_t r, int64_t c) { return static_cast<double>(xs[static_cast<size_t>(r * C + c)]); }, w, b, 1e-5);
  const std::vector<float> got = y.to_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
}

TEST(LayerNorm, FeatureMapsNormaliseEachPixelsChannelsInEveryLayout) {
  const int64_t N = 2, C = 20, H = 3, W = 2;  // 20 channels: a blocked layout pads them to 32
  const std::vector<float> xs = ramp(N * C * H * W, 3.0f, -0.5f), w = ramp(C, 0.5f, 1.0f), b = ramp(C, 0.2f, 0.1f);
  // Row r = pixel (n, h, w); its values sit at x[n, c, h, w] of the NCHW vector.
  const std::vector<double> expected = reference(
      N * H * W, C,
      [&](int64_t r, int64_t c) {
        const int64_t n = r / (H * W), pixel = r % (H * W);
        return static_cast<double>(xs[static_cast<size_t>((n * C + c) * H * W + pixel)]);
      },
      w, b, 1e-6);
  const Tensor plain = Tensor::from_vector({N, C, H, W}, xs);
  for (const memory::format_tag tag : {memory::format_tag::nchw, memory::format_tag::nChw16c, memory::format_tag::nhwc}) {
    const Tensor x = plain.to_desc(memory::desc({N, C, H, W}, memory::data_type::f32, tag));
    const Tensor y = ops::layer_norm2d(x, Tensor::from_vector({C}, w), Tensor::from_vector({C}, b), 1e-6f);
    EXPECT_EQ(y.desc(), memory::desc({N, C, H, W}, memory::data_type::f32, memory::format_tag::nhwc))
        << "the output is channels-last";
    const std::vector<float> got = y.to_vector();  // NCHW order
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < H * W; ++p)
          EXPECT_NEAR(got[static_cast<size_t>((n * C + c) * H * W + p)],
                      expected[static_cast<size_t>((n * H * W + p) * C + c)], 1e-5)
              << "n " << n << " c " << c << " pixel " << p << " tag " << static_cast<int>(tag);
  }
}

// Without a scale, dL/dx = (dy - mean(dy) - xhat * mean(dy * xhat)) / sigma for each row (the derivative
// of (x - mean) / sigma worked out by hand), whose entries sum to zero (sum of xhat is zero); the
// shift's gradient is the column sum of dy.
TEST(LayerNorm, WithoutScaleTheInputGradientOfEachRowSumsToZeroAndTheShiftGetsTheColumnSums) {
  const int64_t R = 4, C = 6;
  const std::vector<float> xs = ramp(R * C, 1.5f, 0.2f), dys = ramp(R * C, 0.8f, 0.3f, 1.9f);
  Tensor x = Tensor::from_vector({R, C}, xs);
  x.set_requires_grad(true);
  Tensor shift = Tensor::from_vector({C}, ramp(C, 0.1f, 0.0f));
  shift.set_requires_grad(true);
  const Tensor y = ops::layer_norm(x, Tensor(), shift, 1e-5f);
  autograd::backward(y, Tensor::from_vector({R, C}, dys));
  const std::vector<float> dx = x.grad().to_vector();
  for (int64_t r = 0; r < R; ++r) {
    const auto at = [&](const std::vector<float>& v, int64_t c) { return static_cast<double>(v[static_cast<size_t>(r * C + c)]); };
    double mean = 0, var = 0, mean_dy = 0, mean_dy_xhat = 0, sum = 0, size = 0;
    for (int64_t c = 0; c < C; ++c) mean += at(xs, c) / C;
    for (int64_t c = 0; c < C; ++c) var += (at(xs, c) - mean) * (at(xs, c) - mean) / C;
    const double sigma = std::sqrt(var + 1e-5);
    for (int64_t c = 0; c < C; ++c) {
      mean_dy += at(dys, c) / C;
      mean_dy_xhat += at(dys, c) * (at(xs, c) - mean) / sigma / C;
    }
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (at(xs, c) - mean) / sigma;
      EXPECT_NEAR(at(dx, c), (at(dys, c) - mean_dy - xhat * mean_dy_xhat) / sigma, 1e-5) << "row " << r << " c " << c;
      sum += at(dx, c);
      size += std::abs(at(dx, c));
    }
    EXPECT_NEAR(sum, 0.0, 1e-5 * size) << "row " << r;
    EXPECT_GT(size, 0.1) << "row " << r;
  }
  const std::vector<float> dshift = shift.grad().to_vector();
  for (int64_t c = 0; c < C; ++c) {
    double column = 0;
    for (int64_t r = 0; r < R; ++r) column += dys[static_cast<size_t>(r * C + c)];
    EXPECT_NEAR(dshift[static_cast<size_t>(c)], column, 1e-5) << c;
  }
}

TEST(LayerNorm, BadArgumentsAreErrorsNamingTheShapes) {
  const Tensor x = Tensor::zeros({2, 3, 4, 4});
  EXPECT_THROW(ops::layer_norm2d(x, Tensor::zeros({4}), Tensor(), 1e-6f), Error);  // 3 channels
  EXPECT_THROW(ops::layer_norm(x, Tensor::zeros({3}), Tensor(), 1e-5f), Error);    // last dimension is 4
  EXPECT_THROW(ops::layer_norm(Tensor::zeros({5}), Tensor(), Tensor(), 1e-5f), Error);
  EXPECT_THROW(ops::layer_norm2d(Tensor::zeros({2, 3, 4}), Tensor(), Tensor(), 1e-6f), Error);
  EXPECT_THROW(ops::layer_norm(Tensor::zeros({2, 3}), Tensor(), Tensor(), 0.0f), Error);
  EXPECT_THROW(nn::LayerNorm(0), Error);
  nn::LayerNorm2d norm(3);
  EXPECT_EQ(norm.named_parameters().size(), 2u);
  try {
    norm(Tensor::zeros({2, 5, 4, 4}));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected input [N, 3, H, W], got [2, 5, 4, 4]"), std::string::npos) << e.what();
  }
}

}  // namespace
