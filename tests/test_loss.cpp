#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/loss.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// logits [[1, 2, 3], [1, 1, 1]], labels [2, 0]; lse_n = log(sum_k exp(z_nk)).
const std::vector<float> kLogits = {1, 2, 3, 1, 1, 1};
const std::vector<int32_t> kLabels = {2, 0};
const double kLse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
const double kLse1 = std::log(3 * std::exp(1.0));

}  // namespace

TEST(CrossEntropy, MatchesHandComputation) {
  // loss_n = lse_n - z_n,label
  const double expected = ((kLse0 - 3.0) + (kLse1 - 1.0)) / 2;
  Tensor loss = ops::cross_entropy(Tensor::from_vector({2, 3}, kLogits), kLabels);
  EXPECT_EQ(loss.shape(), (Shape{1}));
  EXPECT_NEAR(loss.item(), expected, 1e-6);
  EXPECT_NEAR(loss.item(), 0.753109, 1e-5);  // (0.407606 + log 3 = 1.098612) / 2
}

TEST(CrossEntropy, LabelSmoothingMatchesHandComputation) {
  // PyTorch: (1 - eps) * nll + eps * mean_k(-log softmax_k), averaged over the batch.
  const double eps = 0.1;
  const double row0 = (1 - eps) * (kLse0 - 3.0) + eps / 3 * ((kLse0 - 1) + (kLse0 - 2) + (kLse0 - 3));
  const double row1 = (1 - eps) * (kLse1 - 1.0) + eps / 3 * (3 * (kLse1 - 1));
  Tensor loss = ops::cross_entropy(Tensor::from_vector({2, 3}, kLogits), kLabels, 0.1f);
  EXPECT_NEAR(loss.item(), (row0 + row1) / 2, 1e-6);
}

TEST(CrossEntropy, BackwardIsSoftmaxMinusTargetOverBatchTimesUpstream) {
  Tensor logits = Tensor::from_vector({2, 3}, kLogits);
  logits.set_requires_grad(true);
  Tensor loss = ops::cross_entropy(logits, kLabels, 0.1f);
  autograd::backward(loss, Tensor::scalar(3.0f));
  const double lse[2] = {kLse0, kLse1};
  const std::vector<float> grad = logits.grad().to_vector();
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k) {
      const double softmax = std::exp(kLogits[n * 3 + k] - lse[n]);
      const double target = (k == kLabels[n] ? 0.9 : 0.0) + 0.1 / 3;
      EXPECT_NEAR(grad[n * 3 + k], 3.0 * (softmax - target) / 2, 1e-6) << "n " << n << " k " << k;
    }
}

TEST(CrossEntropy, GradientMatchesFiniteDifferencesOnPlainAndTransposedLayouts) {
  const std::vector<int32_t> labels = {0, 6, 3, 3, 1};
  const auto op = [&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], labels, 0.1f); };
  Tensor plain = testkit::random_tensor({5, 7}, 1, -2, 2, true);
  EXPECT_EQ(testkit::check_gradients(op, {plain}), 0);
  // A non-plain 2-d layout (column-major): the gradient must come back in it.
  Tensor transposed =
      testkit::random_tensor_in(memory::desc({5, 7}, memory::data_type::f32, memory::format_tag::ba), 2, -2, 2, true);
  EXPECT_EQ(testkit::check_gradients(op, {transposed}), 0);
  EXPECT_EQ(transposed.grad().desc(), transposed.desc());
}

TEST(CrossEntropy, HugeLogitsStayFinite) {
  // Without subtracting the row max, exp(1000) overflows. Row 0: loss 0; row 1: 1000.
  Tensor loss = ops::cross_entropy(Tensor::from_vector({2, 2}, {1000, 0, -1000, 0}), {0, 0});
  EXPECT_NEAR(loss.item(), 500.0, 1e-3);
}

TEST(CrossEntropy, RejectsBadLabelsAndShapes) {
  Tensor logits = Tensor::from_vector({2, 3}, kLogits);
  EXPECT_EQ(error_of([&] { ops::cross_entropy(logits, {2, 3}); }),
            "cross_entropy: label 1 is 3, outside [0, K) with K = 3 (logits [2, 3])");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(logits, {-1, 0}); }),
            "cross_entropy: label 0 is -1, outside [0, K) with K = 3 (logits [2, 3])");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(logits, {0, 1, 2}); }),
            "cross_entropy: 3 labels given for a batch of 2 (logits [2, 3])");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(Tensor::zeros({2, 3, 1}), {0, 1}); }),
            "cross_entropy: logits must be [N, K], got [2, 3, 1]");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(logits, {0, 1}, 1.5f); }),
            "cross_entropy: label_smoothing must be in [0, 1], got 1.5");
}

// Mixup's soft target (timm's mixup_target + SoftTargetCrossEntropy): sum_k -t_k log softmax_k with
// t = w * smooth(a) + (1 - w) * smooth(b). By hand for the rows above, labels a = [2, 0], b = [1, 0].
TEST(CrossEntropy, MixedLabelsMatchTheSoftTargetByHand) {
  const double w = 0.7, eps = 0.1;
  const double lse[2] = {kLse0, kLse1};
  const std::vector<int32_t> second = {1, 0};
  double expected = 0;
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k) {
      const double t = w * ((k == kLabels[n] ? 1 - eps : 0) + eps / 3) + (1 - w) * ((k == second[n] ? 1 - eps : 0) + eps / 3);
      expected += t * (lse[n] - kLogits[n * 3 + k]) / 2;
    }
  Tensor logits = Tensor::from_vector({2, 3}, kLogits);
  logits.set_requires_grad(true);
  const Tensor loss = ops::cross_entropy(logits, ops::MixedLabels{kLabels, second, w}, 0.1f);
  EXPECT_NEAR(loss.item(), expected, 1e-6);
  autograd::backward(loss);
  const std::vector<float> grad = logits.grad().to_vector();
  for (int n = 0; n < 2; ++n)
    for (int k = 0; k < 3; ++k) {
      const double t = w * ((k == kLabels[n] ? 1 - eps : 0) + eps / 3) + (1 - w) * ((k == second[n] ? 1 - eps : 0) + eps / 3);
      EXPECT_NEAR(grad[n * 3 + k], (std::exp(kLogits[n * 3 + k] - lse[n]) - t) / 2, 1e-6);
    }
  // Finite differences, and one label (weight 1, or both labels equal) is the ordinary loss bit for bit.
  const auto op = [&](const std::vector<Tensor>& in) {
    return ops::cross_entropy(in[0], ops::MixedLabels{{0, 6, 3, 3, 1}, {2, 6, 0, 1, 1}, 0.35}, 0.1f);
  };
  EXPECT_EQ(testkit::check_gradients(op, {testkit::random_tensor({5, 7}, 3, -2, 2, true)}), 0);
  const Tensor plain = Tensor::from_vector({2, 3}, kLogits);
  EXPECT_EQ(ops::cross_entropy(plain, ops::MixedLabels{kLabels, second, 1.0}, 0.1f).item(),
            ops::cross_entropy(plain, kLabels, 0.1f).item());
  EXPECT_EQ(error_of([&] { ops::cross_entropy(plain, ops::MixedLabels{kLabels, {0}, 0.5}); }),
            "cross_entropy: 1 second labels given for 2 first labels");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(plain, ops::MixedLabels{kLabels, {0, 3}, 0.5}); }),
            "cross_entropy: label 1 is 3, outside [0, K) with K = 3 (logits [2, 3])");
  EXPECT_EQ(error_of([&] { ops::cross_entropy(plain, ops::MixedLabels{kLabels, second, 1.5}); }),
            "cross_entropy: the first label's weight must be in [0, 1], got 1.5");
}
