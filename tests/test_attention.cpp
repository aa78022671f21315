// The transformer ops (issue 21): batched matmul with every transpose, softmax along the last axis, and
// scaled dot-product attention with bias and mask, each against naive double-precision loops written
// here and against central finite differences; bf16 against f32.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/attention.hpp"
#include "sugar/ops/matmul.hpp"
#include "sugar/ops/softmax.hpp"
#include "support/error_of.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// x[b][i][j] of a plain row-major [B, R, C] tensor's values, optionally read transposed.
double at(const std::vector<float>& x, int64_t rows, int64_t cols, int64_t b, int64_t i, int64_t j, bool transposed) {
  return transposed ? x[(b * cols + j) * rows + i] : x[(b * rows + i) * cols + j];
}

// The message of the sugar::Error a call throws.
template <class F>
std::string error_of(F&& body) {
  return testkit::error_of(std::forward<F>(body)).first;
}

// The explicit formula, in double: softmax(scale q k^T + bias[h] + mask[b % W]) v.
std::vector<double> naive_attention(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                    const std::vector<float>& bias, const std::vector<float>& mask, int64_t B,
                                    int64_t H, int64_t L, int64_t d, int64_t W, double scale) {
  std::vector<double> out(static_cast<size_t>(B * H * L * d), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t base = (b * H + h) * L * d;
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> s(static_cast<size_t>(L));
        double top = -1e300;
        for (int64_t j = 0; j < L; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += double(q[base + i * d + c]) * k[base + j * d + c];
          s[j] = scale * dot + (bias.empty() ? 0.0 : bias[(h * L + i) * L + j]) +
                 (mask.empty() ? 0.0 : mask[((b % W) * L + i) * L + j]);
          top = std::max(top, s[j]);
        }
        double total = 0;
        for (double& x : s) total += (x = std::exp(x - top));
        for (int64_t j = 0; j < L; ++j)
          for (int64_t c = 0; c < d; ++c) out[base + i * d + c] += s[j] / total * v[base + j * d + c];
      }
    }
  return out;
}

}  // namespace

TEST(Matmul, EveryTransposeMatchesTheNaiveProductAndItsGradients) {
  const int64_t B = 2, M = 3, K = 4, N = 5;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      const Tensor a = testkit::random_tensor(ta ? Shape{B, K, M} : Shape{B, M, K}, 1, -1, 1, true);
      const Tensor b = testkit::random_tensor(tb ? Shape{B, N, K} : Shape{B, K, N}, 2, -1, 1, true);
      const ops::MatmulOptions options{ta, tb, 0.5f};
      const Tensor c = ops::matmul(a, b, options);
      ASSERT_EQ(c.shape(), (Shape{B, M, N}));
      const std::vector<float> av = a.to_vector(), bv = b.to_vector(), cv = c.to_vector();
      for (int64_t n = 0; n < B; ++n)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double sum = 0;
            for (int64_t x = 0; x < K; ++x)
              sum += at(av, M, K, n, i, x, ta) * at(bv, K, N, n, x, j, tb);
            EXPECT_NEAR(cv[(n * M + i) * N + j], 0.5 * sum, 1e-5) << ta << tb;
          }
      autograd::clear_tape();
      EXPECT_EQ(testkit::check_gradients([&](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1], options); },
                                         {a, b}),
                0)
          << "transpose a " << ta << ", b " << tb;
    }
  // 2-d and 4-d operands, and what does not fit.
  const Tensor a2 = testkit::random_tensor({3, 4}, 3, -1, 1, true), b2 = testkit::random_tensor({4, 2}, 4, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1]); }, {a2, b2}), 0);
  const Tensor a4 = testkit::random_tensor({2, 2, 3, 4}, 5, -1, 1, true), b4 = testkit::random_tensor({2, 2, 3, 4}, 6, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::matmul(in[0], in[1], {false, true}); },
                                     {a4, b4}),
            0);
  EXPECT_EQ(error_of([&] { ops::matmul(a2, a2); }), "matmul: op(a) has 4 columns but op(b) has 3 rows (a [3, 4], b [3, 4])");
  EXPECT_EQ(error_of([&] { ops::matmul(a2, a4); }),
            "matmul: expected operands of 2 to 4 axes, as many each (a [3, 4], b [2, 2, 3, 4])");
}

TEST(Softmax, RowsAreTheClosedFormAndTheGradientMatchesFiniteDifferences) {
  const Tensor x = Tensor::from_vector({2, 3}, {1, 2, 3, -1000, 0, 1000});
  const std::vector<float> y = ops::softmax(x).to_vector();
  const double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(y[0], std::exp(1.0) / total, 1e-6);
  EXPECT_NEAR(y[2], std::exp(3.0) / total, 1e-6);
  EXPECT_EQ(y[3], 0.0f);  // exp(-2000) underflows; nothing overflows
  EXPECT_EQ(y[5], 1.0f);
  const Tensor input = testkit::random_tensor({2, 3, 7}, 8, -2, 2, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::softmax(in[0]); }, {input}), 0);
}

TEST(Attention, MatchesTheExplicitFormulaWithBiasAndMaskAndItsGradients) {
  const int64_t B = 4, H = 2, L = 5, d = 3, W = 2;
  const Tensor q = testkit::random_tensor({B, H, L, d}, 11, -1, 1, true);
  const Tensor k = testkit::random_tensor({B, H, L, d}, 12, -1, 1, true);
  const Tensor v = testkit::random_tensor({B, H, L, d}, 13, -1, 1, true);
  const Tensor bias = testkit::random_tensor({H, L, L}, 14, -1, 1, true);
  // Swin's mask: 0 where two tokens share a region, -100 elsewhere; window 1 masks tokens 3-4 off 0-2.
  std::vector<float> mask_values(static_cast<size_t>(W * L * L), 0.0f);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j)
      if ((i < 3) != (j < 3)) mask_values[(1 * L + i) * L + j] = -100.0f;
  const Tensor mask = Tensor::from_vector({W, L, L}, mask_values);

  const ops::AttentionOptions options{0.0f, bias, mask};
  const std::vector<float> out = ops::attention(q, k, v, options).to_vector();
  const std::vector<double> expected = naive_attention(q.to_vector(), k.to_vector(), v.to_vector(), bias.to_vector(),
                                                       mask_values, B, H, L, d, W, 1.0 / std::sqrt(3.0));
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-5) << i;
  autograd::clear_tape();

  const auto op = [&](const std::vector<Tensor>& in) {
    return ops::attention(in[0], in[1], in[2], {0.0f, in[3], mask});
  };
  EXPECT_EQ(testkit::check_gradients(op, {q, k, v, bias}), 0);
  // Without bias and mask, an explicit scale.
  const auto plain = [&](const std::vector<Tensor>& in) { return ops::attention(in[0], in[1], in[2], {0.25f}); };
  EXPECT_EQ(testkit::check_gradients(plain, {q, k, v}), 0);
  const std::vector<float> scaled = ops::attention(q, k, v, {0.25f}).to_vector();
  const std::vector<double> scaled_expected =
      naive_attention(q.to_vector(), k.to_vector(), v.to_vector(), {}, {}, B, H, L, d, 1, 0.25);
  for (size_t i = 0; i < scaled.size(); ++i) EXPECT_NEAR(scaled[i], scaled_expected[i], 1e-5) << i;
  autograd::clear_tape();

  // bf16 inputs: within bf16's rounding of the f32 result.
  const std::vector<float> low =
      ops::attention(q.to_dtype(DType::bf16), k.to_dtype(DType::bf16), v.to_dtype(DType::bf16), options).to_vector();
  for (size_t i = 0; i < low.size(); ++i) EXPECT_NEAR(low[i], out[i], 3e-2) << i;
  autograd::clear_tape();

  EXPECT_EQ(error_of([&] { ops::attention(q, k, v, {0.0f, Tensor(), Tensor::zeros({3, L, L})}); }),
            "attention: mask must be f32 [W, L, L] with the batch 4 a multiple of W, got [3, 5, 5]");
  EXPECT_EQ(error_of([&] { ops::attention(q, k, v, {0.0f, Tensor::zeros({H, L, 4})}); }),
            "attention: bias must be f32 [H, L, L] = [2, 5, 5], got [2, 5, 4]");
}
