#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

const Shape kShape{3, 5, 7, 7};  // odd on purpose: 5 channels fill a third of a 16-lane block
constexpr int64_t kValuesPerChannel = 3 * 7 * 7;

struct ChannelStats {
  std::vector<double> mean, biased_var;
};

// Naive double-precision per-channel statistics of plain NCHW values.
ChannelStats reference_stats(const std::vector<float>& x, const Shape& s) {
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  ChannelStats st{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) st.mean[c] += x[(n * C + c) * HW + i];
    st.mean[c] /= static_cast<double>(N * HW);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const double d = x[(n * C + c) * HW + i] - st.mean[c];
        st.biased_var[c] += d * d;
      }
    st.biased_var[c] /= static_cast<double>(N * HW);
  }
  return st;
}

// y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel, in double.
std::vector<double> reference_normalize(const std::vector<float>& x, const Shape& s, const std::vector<double>& mean,
                                        const std::vector<double>& var, const std::vector<float>& gamma,
                                        const std::vector<float>& beta, double eps) {
  const int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t at = (n * C + c) * HW + i;
        const double g = gamma.empty() ? 1.0 : gamma[c], b = beta.empty() ? 0.0 : beta[c];
        y[at] = g * (x[at] - mean[c]) / std::sqrt(var[c] + eps) + b;
      }
  return y;
}

// Inputs with a different spread per channel and, unless centred, a different offset, so
// per-channel statistics matter. (Why the gradient checks use centred inputs: see there.)
Tensor input(bool blocked, uint64_t seed, bool requires_grad = false, bool centred = false) {
  Tensor plain = testkit::random_tensor(kShape, seed, -1, 1);
  float* p = plain.data<float>();
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 5; ++c)
      for (int64_t i = 0; i < 49; ++i) {
        float& v = p[(n * 5 + c) * 49 + i];
        v = v * (0.5f + 0.4f * c) + (centred ? 0.f : c - 2.0f);
      }
  Tensor x = blocked ? plain.to_desc(testkit::blocked16(kShape)) : plain;
  x.set_requires_grad(requires_grad);
  return x;
}

void expect_near(const std::vector<float>& actual, const std::vector<double>& expected, double tol,
                 const char* what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) ASSERT_NEAR(actual[i], expected[i], tol) << what << " element " << i;
}

const std::vector<float> kGamma{0.5f, 1.5f, -1.0f, 2.0f, 0.75f};
const std::vector<float> kBeta{0.1f, -0.2f, 0.3f, 0.0f, 1.0f};

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(BatchNorm2d, TrainingForwardNormalisesWithBatchStatistics) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const Tensor x = input(blocked, 1);
    const Tensor gamma = Tensor::from_vector({5}, kGamma), beta = Tensor::from_vector({5}, kBeta);
    const Tensor rm = Tensor::zeros({5}), rv = Tensor::full({5}, 1.f);
    const Tensor y = ops::batch_norm2d(x, gamma, beta, rm, rv, {});
    const std::vector<float> xv = x.to_vector();
    const ChannelStats st = reference_stats(xv, kShape);
    expect_near(y.to_vector(), reference_normalize(xv, kShape, st.mean, st.biased_var, kGamma, kBeta, 1e-5), 1e-4,
                "y");
    EXPECT_EQ(y.desc(), x.desc());  // blocked in, same blocked layout out
    EXPECT_TRUE(testkit::padding_is_zero(y));
  }
}

// A batch of 64 64x64 maps: 262,144 values per channel, most of them one background value (the border
// of each map, as zero-padded images give after a convolution), the rest spread around it. Summed in
// float32 one after another, as oneDNN 2.6 sums a blocked layout, the repeated value's rounding adds
// up: the means came out up to 8e-4 of a standard deviation off. The statistics must keep float
// precision (ops/batch_norm.cpp says how).
TEST(BatchNorm2d, StatisticsOfManyValuesPerChannelKeepFloatPrecision) {
  const Shape shape{64, 16, 64, 64};
  const int64_t values = 64 * 64 * 64;
  Tensor plain = testkit::random_tensor(shape, 21, -1, 1);
  float* p = plain.data<float>();
  for (int64_t n = 0; n < 64; ++n)
    for (int64_t c = 0; c < 16; ++c)
      for (int64_t y = 0; y < 64; ++y)
        for (int64_t x = 0; x < 64; ++x) {
          float& v = p[((n * 16 + c) * 64 + y) * 64 + x];
          const float background = 0.25f * static_cast<float>(c % 5) - 0.4f + 0.01f * static_cast<float>(c % 7);
          const bool border = y < 16 || y >= 48 || x < 16 || x >= 48;
          v = border ? background : background + (0.2f + 0.05f * static_cast<float>(c)) * v;
        }
  const std::vector<float> xv = plain.to_vector();
  const ChannelStats st = reference_stats(xv, shape);
  const std::vector<double> expected = reference_normalize(xv, shape, st.mean, st.biased_var, {}, {}, 1e-5);
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const Tensor x = blocked ? plain.to_desc(testkit::blocked16(shape)) : plain;
    const Tensor rm = Tensor::zeros({16}), rv = Tensor::zeros({16});
    const Tensor y = ops::batch_norm2d(x, Tensor(), Tensor(), rm, rv, {.momentum = 1.0f});
    // |y| reaches ~3: a few float ulps.
    expect_near(y.to_vector(), expected, 2e-6, "y");
    // momentum 1: the running statistics are the batch's (the variance unbiased), to float precision.
    std::vector<double> unbiased(16);
    for (int c = 0; c < 16; ++c) unbiased[c] = st.biased_var[c] * values / (values - 1.0);
    expect_near(rm.to_vector(), st.mean, 1e-7, "running_mean");
    expect_near(rv.to_vector(), unbiased, 1e-7, "running_var");
  }
}

TEST(BatchNorm2d, WithoutAffineParametersOutputIsStandardised) {
  const Tensor x = input(true, 2);
  const Tensor y = ops::batch_norm2d(x, Tensor(), Tensor(), Tensor(), Tensor(), {});
  const std::vector<float> xv = x.to_vector();
  const ChannelStats st = reference_stats(xv, kShape);
  expect_near(y.to_vector(), reference_normalize(xv, kShape, st.mean, st.biased_var, {}, {}, 1e-5), 1e-4, "y");
}

TEST(BatchNorm2d, RunningStatisticsFollowPyTorchMomentumUpdateOverTwoSteps) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const Tensor rm = Tensor::zeros({5}), rv = Tensor::full({5}, 1.f);
    std::vector<double> expected_mean(5, 0.0), expected_var(5, 1.0);
    for (uint64_t step = 0; step < 2; ++step) {
      const Tensor x = input(blocked, 10 + step);
      ops::batch_norm2d(x, Tensor::from_vector({5}, kGamma), Tensor::from_vector({5}, kBeta), rm, rv, {});
      // PyTorch: running = 0.9 * running + 0.1 * stat, the variance made unbiased with M / (M - 1).
      const ChannelStats st = reference_stats(x.to_vector(), kShape);
      for (int c = 0; c < 5; ++c) {
        expected_mean[c] = 0.9 * expected_mean[c] + 0.1 * st.mean[c];
        expected_var[c] = 0.9 * expected_var[c] +
                          0.1 * st.biased_var[c] * kValuesPerChannel / (kValuesPerChannel - 1.0);
      }
    }
    expect_near(rm.to_vector(), expected_mean, 1e-5, "running_mean");
    expect_near(rv.to_vector(), expected_var, 1e-5, "running_var");
  }
}

TEST(BatchNorm2d, TrainingUpdatesRunningStatisticsEvenWithoutGrad) {
  const Tensor rm = Tensor::zeros({5}), rv = Tensor::full({5}, 1.f);
  const Tensor x = input(false, 3);
  {
    autograd::NoGradGuard no_grad;
    ops::batch_norm2d(x, Tensor(), Tensor(), rm, rv, {});
  }
  const ChannelStats st = reference_stats(x.to_vector(), kShape);
  for (int c = 0; c < 5; ++c) EXPECT_NEAR(rm.to_vector()[c], 0.1 * st.mean[c], 1e-6);
}

TEST(BatchNorm2d, EvalUsesRunningStatisticsAndLeavesThemUnchanged) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const std::vector<float> mean{-2.f, 0.5f, 0.f, 1.f, 2.5f}, var{0.25f, 1.f, 2.f, 0.5f, 4.f};
    const Tensor rm = Tensor::from_vector({5}, mean), rv = Tensor::from_vector({5}, var);
    const Tensor x = input(blocked, 4);
    ops::BatchNormOptions eval;
    eval.training = false;
    const Tensor y =
        ops::batch_norm2d(x, Tensor::from_vector({5}, kGamma), Tensor::from_vector({5}, kBeta), rm, rv, eval);
    expect_near(y.to_vector(),
                reference_normalize(x.to_vector(), kShape, {mean.begin(), mean.end()}, {var.begin(), var.end()},
                                    kGamma, kBeta, 1e-5),
                1e-5, "y");
    EXPECT_EQ(y.desc(), x.desc());
    EXPECT_EQ(rm.to_vector(), mean);
    EXPECT_EQ(rv.to_vector(), var);
  }
}

// Step and tolerance for the training-mode checks (defaults: h = 1e-2, atol 2e-3, rtol 2e-2).
// The op is smooth and its statistics average M = 147 values, so the central difference's truncation
// error (h^2/6 * d3L/dx3, with d3L/dx3 = O(1/(M sigma^3))) is ~1e-5: the limit is f32 rounding. Its
// worst part is the rounding of each channel's mean, which shifts all M outputs of the channel
// coherently; L = sum r_i y_i (r in [0.5, 1.5], so no cancellation) adds those M shifts up, and the
// shift grows with |mean|: eps_f32 * |sum x| / M / sigma * M / (2h). Measured worst |numeric -
// analytic| over x: 3e-4 with channels centred on zero, 2.4e-3 with channel means of +-2 (which then
// fails atol). So the gradient checks use centred inputs and keep the default tolerances (7x
// margin), while the forward tests and the closed-form backward test keep the offsets.
TEST(BatchNorm2d, TrainingGradientsMatchFiniteDifferences) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    Tensor gamma = Tensor::from_vector({5}, kGamma), beta = Tensor::from_vector({5}, kBeta);
    gamma.set_requires_grad(true);
    beta.set_requires_grad(true);
    const Tensor rm = Tensor::zeros({5}), rv = Tensor::full({5}, 1.f);
    const auto op = [&](const std::vector<Tensor>& in) {
      return ops::batch_norm2d(in[0], in[1], in[2], rm, rv, {});
    };
    EXPECT_EQ(testkit::check_gradients(op, {input(blocked, 5, true, true), gamma, beta}), 0);
  }
}

TEST(BatchNorm2d, TrainingGradientWithoutAffineMatchesFiniteDifferences) {
  const auto op = [](const std::vector<Tensor>& in) {
    return ops::batch_norm2d(in[0], Tensor(), Tensor(), Tensor(), Tensor(), {});
  };
  EXPECT_EQ(testkit::check_gradients(op, {input(true, 6, true, true)}), 0);
}

TEST(BatchNorm2d, EvalGradientsMatchFiniteDifferences) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    Tensor gamma = Tensor::from_vector({5}, kGamma), beta = Tensor::from_vector({5}, kBeta);
    gamma.set_requires_grad(true);
    beta.set_requires_grad(true);
    const Tensor rm = Tensor::from_vector({5}, {-2.f, 0.5f, 0.f, 1.f, 2.5f});
    const Tensor rv = Tensor::from_vector({5}, {0.25f, 1.f, 2.f, 0.5f, 4.f});
    ops::BatchNormOptions eval;
    eval.training = false;
    const auto op = [&](const std::vector<Tensor>& in) {
      return ops::batch_norm2d(in[0], in[1], in[2], rm, rv, eval);
    };
    EXPECT_EQ(testkit::check_gradients(op, {input(blocked, 7, true), gamma, beta}), 0);
  }
}

TEST(BatchNorm2d, EvalInputGradientIsGammaOverRunningStd) {
  // Frozen statistics make the op affine in x: dL/dx = dy * gamma / sqrt(running_var + eps).
  Tensor x = Tensor::from_vector({1, 2, 1, 2}, {1.f, 2.f, 3.f, 4.f});
  x.set_requires_grad(true);
  ops::BatchNormOptions eval;
  eval.training = false;
  const Tensor y = ops::batch_norm2d(x, Tensor::from_vector({2}, {2.f, -3.f}), Tensor(), Tensor::zeros({2}),
                                     Tensor::from_vector({2}, {4.f, 0.25f}), eval);
  autograd::backward(y);
  const std::vector<float> g = x.grad().to_vector();
  EXPECT_NEAR(g[0], 2.0 / std::sqrt(4.0 + 1e-5), 1e-6);
  EXPECT_NEAR(g[1], 2.0 / std::sqrt(4.0 + 1e-5), 1e-6);
  EXPECT_NEAR(g[2], -3.0 / std::sqrt(0.25 + 1e-5), 1e-5);
  EXPECT_NEAR(g[3], -3.0 / std::sqrt(0.25 + 1e-5), 1e-5);
}

TEST(BatchNorm2d, BackwardKeepsBlockedPaddingLanesZero) {
  Tensor x = input(true, 8, true);
  Tensor gamma = Tensor::from_vector({5}, kGamma);
  gamma.set_requires_grad(true);
  autograd::backward(ops::batch_norm2d(x, gamma, Tensor(), Tensor::zeros({5}), Tensor::full({5}, 1.f), {}),
                     testkit::random_tensor_in(testkit::blocked16(kShape), 9));
  EXPECT_EQ(x.grad().desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(x.grad()));
}

TEST(BatchNorm2d, TrainingInputGradientMatchesClosedForm) {
  // dL/dx = gamma / sigma * (dy - mean(dy) - xhat * mean(dy * xhat)), means over N, H, W per channel.
  for (bool affine : {false, true}) {
    SCOPED_TRACE(affine ? "affine" : "no affine");
    Tensor x = input(true, 6, true);
    Tensor gamma = affine ? Tensor::from_vector({5}, kGamma) : Tensor();
    const Tensor dy = testkit::random_tensor(kShape, 12);
    autograd::backward(ops::batch_norm2d(x, gamma, Tensor(), Tensor(), Tensor(), {}), dy);
    const std::vector<float> xv = x.to_vector(), dyv = dy.to_vector(), g = x.grad().to_vector();
    const ChannelStats st = reference_stats(xv, kShape);
    for (int64_t c = 0; c < 5; ++c) {
      const double inv_sigma = 1.0 / std::sqrt(st.biased_var[c] + 1e-5);
      double mean_dy = 0, mean_dy_xhat = 0;
      for (int64_t n = 0; n < 3; ++n)
        for (int64_t i = 0; i < 49; ++i) {
          const int64_t at = (n * 5 + c) * 49 + i;
          mean_dy += dyv[at] / kValuesPerChannel;
          mean_dy_xhat += dyv[at] * (xv[at] - st.mean[c]) * inv_sigma / kValuesPerChannel;
        }
      for (int64_t n = 0; n < 3; ++n)
        for (int64_t i = 0; i < 49; ++i) {
          const int64_t at = (n * 5 + c) * 49 + i;
          const double xhat = (xv[at] - st.mean[c]) * inv_sigma;
          const double expected = (affine ? kGamma[c] : 1.0) * inv_sigma * (dyv[at] - mean_dy - xhat * mean_dy_xhat);
          ASSERT_NEAR(g[at], expected, 1e-4) << "channel " << c << " element " << at;
        }
    }
  }
}

TEST(BatchNorm2d, InvalidArgumentsThrowNamingOpAndShapes) {
  const Tensor x = Tensor::zeros(kShape);
  const Tensor c5 = Tensor::zeros({5});
  const std::string wrong_weight = error_of([&] { ops::batch_norm2d(x, Tensor::zeros({4}), c5, c5, c5, {}); });
  EXPECT_NE(wrong_weight.find("batch_norm2d: weight has shape [4]"), std::string::npos) << wrong_weight;
  EXPECT_NE(wrong_weight.find("[3, 5, 7, 7]"), std::string::npos) << wrong_weight;
  EXPECT_NE(error_of([&] { ops::batch_norm2d(x, c5, c5, c5, Tensor::zeros({6}), {}); }).find("running_var"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::batch_norm2d(Tensor::zeros({5, 7, 7}), c5, c5, c5, c5, {}); }).find("4-d"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::batch_norm2d(x, c5, c5, c5, Tensor(), {}); }).find("both"), std::string::npos);
  // One value per channel has no variance: PyTorch refuses it in training, so do we.
  EXPECT_NE(error_of([&] { ops::batch_norm2d(Tensor::zeros({1, 5, 1, 1}), c5, c5, c5, c5, {}); })
                .find("more than one value per channel"),
            std::string::npos);
}
