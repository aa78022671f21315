#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/random.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

enum class Kind { max, avg_include_pad, avg_exclude_pad };

// Naive double-precision pooling on plain NCHW values, following PyTorch's definitions (floor
// rounding; padding counts as -inf for max and as zeros for avg with count_include_pad).
std::vector<double> reference_pool(const std::vector<float>& x, const Shape& s, Kind kind, ops::Dims2 k,
                                   ops::Dims2 stride, ops::Dims2 pad) {
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  const int64_t OH = (H + 2 * pad[0] - k[0]) / stride[0] + 1, OW = (W + 2 * pad[1] - k[1]) / stride[1] + 1;
  std::vector<double> y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          int64_t inside = 0;
          for (int64_t i = 0; i < k[0]; ++i)
            for (int64_t j = 0; j < k[1]; ++j) {
              const int64_t h = oh * stride[0] - pad[0] + i, w = ow * stride[1] - pad[1] + j;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const double v = x[((n * C + c) * H + h) * W + w];
              best = std::max(best, v);
              sum += v;
              ++inside;
            }
          if (kind == Kind::max) y.push_back(best);
          else if (kind == Kind::avg_include_pad) y.push_back(sum / static_cast<double>(k[0] * k[1]));
          else y.push_back(sum / static_cast<double>(inside));
        }
  return y;
}

Tensor input(const Shape& shape, bool blocked, uint64_t seed, bool requires_grad = false) {
  return blocked ? testkit::random_tensor_in(testkit::blocked16(shape), seed, -1, 1, requires_grad)
                 : testkit::random_tensor(shape, seed, -1, 1, requires_grad);
}

Tensor run(Kind kind, const Tensor& x, const ops::Pool2dOptions& options) {
  return kind == Kind::max ? ops::max_pool2d(x, options) : ops::avg_pool2d(x, options);
}

void expect_matches_reference(Kind kind, const ops::Pool2dOptions& options, bool blocked) {
  const Shape shape{3, 5, 7, 7};
  const ops::Dims2 stride{options.stride[0] ? options.stride[0] : options.kernel[0],
                          options.stride[1] ? options.stride[1] : options.kernel[1]};
  // Both paths: forward_inference (no gradient wanted) and forward_training (with max's workspace).
  for (bool requires_grad : {false, true}) {
    SCOPED_TRACE(std::string(blocked ? "blocked" : "plain") + (requires_grad ? ", recording" : ", no grad"));
    const Tensor x = input(shape, blocked, 11, requires_grad);
    const Tensor y = run(kind, x, options);
    const std::vector<double> expected =
        reference_pool(x.to_vector(), shape, kind, options.kernel, stride, options.padding);
    const std::vector<float> actual = y.to_vector();
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) ASSERT_NEAR(actual[i], expected[i], 1e-6) << "output element " << i;
    // The output stays in the input's layout family: blocked in, blocked out; plain in, plain out.
    EXPECT_EQ(y.desc(), blocked ? testkit::blocked16(y.shape()) : plain_desc(y.shape()));
    EXPECT_TRUE(testkit::padding_is_zero(y));
    autograd::clear_tape();
  }
}

ops::Pool2dOptions window(int64_t k, int64_t s, int64_t p, bool count_include_pad = true) {
  ops::Pool2dOptions o;
  o.kernel = {k, k};
  o.stride = {s, s};
  o.padding = {p, p};
  o.count_include_pad = count_include_pad;
  return o;
}

// Distinct values i * 0.05 in random order, centred on zero: neighbours differ by at least 0.05, more
// than twice the finite-difference step (0.01), so a perturbation never changes which element wins.
Tensor distinct_values(const Shape& shape, bool blocked) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i - n / 2) * 0.05f;
  RandomStream rng(5, "pool-permutation");
  for (int64_t i = n - 1; i > 0; --i) std::swap(values[i], values[rng.bits(i) % (i + 1)]);
  Tensor plain = Tensor::from_vector(shape, values);
  Tensor x = blocked ? plain.to_desc(testkit::blocked16(shape)) : plain;
  x.set_requires_grad(true);
  return x;
}

}  // namespace

TEST(Pool2d, OutputSizeFollowsPyTorchFloorRule) {
  const Tensor x = Tensor::zeros({3, 5, 7, 7});
  EXPECT_EQ(ops::max_pool2d(x, window(3, 2, 1)).shape(), (Shape{3, 5, 4, 4}));  // (7+2-3)/2+1
  EXPECT_EQ(ops::max_pool2d(x, window(2, 0, 0)).shape(), (Shape{3, 5, 3, 3}));  // stride 0 = kernel; floor(7/2)
  ops::Pool2dOptions rect = window(3, 1, 0);
  rect.kernel = {3, 2};
  rect.stride = {2, 3};
  EXPECT_EQ(ops::avg_pool2d(x, rect).shape(), (Shape{3, 5, 3, 2}));  // (7-3)/2+1, (7-2)/3+1
  EXPECT_EQ(ops::global_avg_pool2d(x).shape(), (Shape{3, 5, 1, 1}));
}

TEST(Pool2d, MaxPoolMatchesReferenceWithPaddingAndStride2) {
  for (bool blocked : {false, true}) expect_matches_reference(Kind::max, window(3, 2, 1), blocked);
}

TEST(Pool2d, MaxPoolMatchesReferenceWithDefaultStride) {
  for (bool blocked : {false, true}) expect_matches_reference(Kind::max, window(2, 0, 0), blocked);
}

TEST(Pool2d, AvgPoolCountIncludePadMatchesReference) {
  for (bool blocked : {false, true}) expect_matches_reference(Kind::avg_include_pad, window(3, 2, 1, true), blocked);
}

TEST(Pool2d, AvgPoolCountExcludePadMatchesReference) {
  for (bool blocked : {false, true}) expect_matches_reference(Kind::avg_exclude_pad, window(3, 2, 1, false), blocked);
}

TEST(Pool2d, AvgPoolIncludeAndExcludePadDifferOnlyAtBorders) {
  // Corner window of a 3x3/pad-1 pool over ones: 4 real values out of 9 -> 4/9 vs 1.
  const Tensor ones = Tensor::full({1, 1, 4, 4}, 1.f);
  const std::vector<float> include = ops::avg_pool2d(ones, window(3, 1, 1, true)).to_vector();
  const std::vector<float> exclude = ops::avg_pool2d(ones, window(3, 1, 1, false)).to_vector();
  EXPECT_NEAR(include[0], 4.0 / 9.0, 1e-6);
  EXPECT_NEAR(include[1], 6.0 / 9.0, 1e-6);
  EXPECT_NEAR(include[5], 1.0, 1e-6);
  for (float v : exclude) EXPECT_NEAR(v, 1.0, 1e-6);
}

TEST(Pool2d, GlobalAvgPoolMatchesReference) {
  for (bool blocked : {false, true}) {
    const Tensor x = input({3, 5, 7, 7}, blocked, 3);
    const Tensor y = ops::global_avg_pool2d(x);
    const std::vector<float> v = x.to_vector();
    const std::vector<float> out = y.to_vector();
    ASSERT_EQ(out.size(), 15u);
    for (int64_t nc = 0; nc < 15; ++nc) {
      double sum = 0;
      for (int64_t i = 0; i < 49; ++i) sum += v[nc * 49 + i];
      EXPECT_NEAR(out[nc], sum / 49, 1e-6) << "(n, c) = " << nc;
    }
    EXPECT_EQ(y.desc(), blocked ? testkit::blocked16(y.shape()) : plain_desc(y.shape()));
  }
}

TEST(Pool2d, MaxPoolGradientMatchesFiniteDifferences) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const auto op = [](const std::vector<Tensor>& in) { return ops::max_pool2d(in[0], window(3, 2, 1)); };
    EXPECT_EQ(testkit::check_gradients(op, {distinct_values({3, 5, 7, 7}, blocked)}), 0);
  }
}

TEST(Pool2d, MaxPoolWithOverlappingWindowsRoutesGradientToEachWinner) {
  // 1x1x1x3 input [0, 5, 1], kernel (1, 2), stride 1: both windows pick the 5, so it receives both
  // upstream gradients.
  ops::Pool2dOptions o;
  o.kernel = {1, 2};
  o.stride = {1, 1};
  Tensor x = Tensor::from_vector({1, 1, 1, 3}, {0, 5, 1});
  x.set_requires_grad(true);
  const Tensor y = ops::max_pool2d(x, o);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{5, 5}));
  autograd::backward(y, Tensor::from_vector({1, 1, 1, 2}, {2, 3}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 5, 0}));
}

TEST(Pool2d, AvgPoolGradientMatchesFiniteDifferences) {
  // Each layout once and each divisor rule once (the forward tests cover all four pairings).
  for (bool blocked : {false, true}) {
    const bool include_pad = !blocked;
    SCOPED_TRACE(std::string(blocked ? "blocked" : "plain") + (include_pad ? ", include pad" : ", exclude pad"));
    const auto op = [&](const std::vector<Tensor>& in) { return ops::avg_pool2d(in[0], window(3, 2, 1, include_pad)); };
    EXPECT_EQ(testkit::check_gradients(op, {input({3, 5, 7, 7}, blocked, 21, true)}), 0);
  }
}

TEST(Pool2d, GlobalAvgPoolGradientMatchesFiniteDifferences) {
  for (bool blocked : {false, true}) {
    SCOPED_TRACE(blocked ? "blocked" : "plain");
    const auto op = [](const std::vector<Tensor>& in) { return ops::global_avg_pool2d(in[0]); };
    EXPECT_EQ(testkit::check_gradients(op, {input({3, 5, 7, 7}, blocked, 31, true)}), 0);
  }
}

TEST(Pool2d, BackwardKeepsBlockedPaddingLanesZero) {
  Tensor x = input({3, 5, 7, 7}, true, 41, true);
  autograd::backward(ops::max_pool2d(x, window(3, 2, 1)));
  EXPECT_EQ(x.grad().desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(x.grad()));
}

TEST(Pool2d, InvalidWindowsThrowNamingTheOp) {
  const Tensor x = Tensor::zeros({3, 5, 7, 7});
  const auto message = [](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { ops::max_pool2d(x, window(3, 1, 2)); }).find("max_pool2d: padding"), std::string::npos);
  EXPECT_NE(message([&] { ops::avg_pool2d(x, window(0, 1, 0)); }).find("avg_pool2d: kernel"), std::string::npos);
  EXPECT_NE(message([&] { ops::avg_pool2d(x, window(2, -1, 0)); }).find("avg_pool2d: stride"), std::string::npos);
  EXPECT_NE(message([&] { ops::max_pool2d(x, window(9, 1, 0)); }).find("[3, 5, 7, 7]"), std::string::npos);
  EXPECT_NE(message([&] { ops::max_pool2d(Tensor::zeros({5, 7, 7}), window(2, 2, 0)); }).find("4-d"),
            std::string::npos);
  EXPECT_NE(message([&] { ops::global_avg_pool2d(Tensor::zeros({5, 7})); }).find("global_avg_pool2d"),
            std::string::npos);
}
