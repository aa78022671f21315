#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/ops/dropout.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// Inputs in [1, 2): never zero, so y == 0 exactly where the element was dropped.
Tensor nonzero_input(const memory::desc& layout, uint64_t seed, bool requires_grad = false) {
  return testkit::random_tensor_in(layout, seed, 1.f, 2.f, requires_grad);
}

}  // namespace

TEST(Dropout, FractionOfZerosIsNearP) {
  // Dropped count ~ Binomial(n, p): standard deviation sqrt(n p (1-p)) = sqrt(200000 * 0.21) ~ 205,
  // i.e. 0.00102 in the fraction. Allow 5 standard deviations (0.0052): a false failure has
  // probability below 1e-6, while a p off by 0.01 fails.
  const int64_t n = 200000;
  const float p = 0.3f;
  Tensor x = nonzero_input(plain_desc({n}), 1);
  const std::vector<float> y = ops::dropout(x, p, true, RandomStream(42, "dropout")).to_vector();
  int64_t zeros = 0;
  for (float v : y) zeros += v == 0.f;
  EXPECT_NEAR(static_cast<double>(zeros) / n, p, 5 * std::sqrt(p * (1 - p) / n));
}

TEST(Dropout, SurvivorsAreScaledExactlyByOneOverKeepProbability) {
  const float p = 0.25f;
  const float scale = 1.0f / (1.0f - p);
  Tensor x = nonzero_input(plain_desc({3, 5, 7, 7}), 2);
  const std::vector<float> xs = x.to_vector();
  const std::vector<float> ys = ops::dropout(x, p, true, RandomStream(1, "dropout")).to_vector();
  int64_t kept = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (ys[i] == 0.f) continue;
    ++kept;
    ASSERT_EQ(ys[i], xs[i] * scale) << "element " << i;
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, static_cast<int64_t>(xs.size()));
}

TEST(Dropout, SameSeedGivesSameMaskAndOtherSeedsDiffer) {
  Tensor x = nonzero_input(plain_desc({1000}), 3);
  const auto once = [&](uint64_t seed) { return ops::dropout(x, 0.5f, true, RandomStream(seed, "dropout")).to_vector(); };
  EXPECT_EQ(once(7), once(7));
  EXPECT_NE(once(7), once(8));
}

TEST(Dropout, MaskDependsOnLogicalIndexNotLayoutAndKeepsPaddingZero) {
  const Shape shape = {3, 5, 7, 7};
  Tensor plain = nonzero_input(plain_desc(shape), 4);
  Tensor blocked = plain.to_desc(testkit::blocked16(shape));
  const RandomStream rng(9, "dropout");
  Tensor y_plain = ops::dropout(plain, 0.4f, true, rng);
  Tensor y_blocked = ops::dropout(blocked, 0.4f, true, rng);
  EXPECT_EQ(y_blocked.desc(), blocked.desc());
  EXPECT_TRUE(testkit::padding_is_zero(y_blocked));
  EXPECT_EQ(y_plain.to_vector(), y_blocked.to_vector());
}

TEST(Dropout, BackwardEqualsMaskTimesScale) {
  const float p = 0.5f;
  Tensor x = nonzero_input(plain_desc({200}), 5, true);
  Tensor y = ops::dropout(x, p, true, RandomStream(3, "dropout"));
  std::vector<float> seed(200);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = 0.5f + static_cast<float>(i);
  autograd::backward(y, Tensor::from_vector({200}, seed));
  const std::vector<float> ys = y.to_vector(), grad = x.grad().to_vector();
  for (size_t i = 0; i < ys.size(); ++i) ASSERT_EQ(grad[i], ys[i] == 0.f ? 0.f : seed[i] * 2.f) << "element " << i;
}

TEST(Dropout, GradientMatchesFiniteDifferencesOnBlockedLayout) {
  Tensor x = nonzero_input(testkit::blocked16({3, 5, 7, 7}), 6, true);
  const RandomStream rng(11, "dropout");
  const auto op = [&](const std::vector<Tensor>& in) { return ops::dropout(in[0], 0.3f, true, rng); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}

TEST(Dropout, Bf16InputKeepsItsTypeAndDropsTheSameElements) {
  Tensor x32 = nonzero_input(plain_desc({64}), 7);
  Tensor x16 = x32.to_dtype(DType::bf16);
  const RandomStream rng(5, "dropout");
  Tensor y16 = ops::dropout(x16, 0.5f, true, rng);
  EXPECT_EQ(y16.dtype(), DType::bf16);
  const std::vector<float> a = ops::dropout(x32, 0.5f, true, rng).to_vector(), b = y16.to_vector();
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i] == 0.f, b[i] == 0.f) << "element " << i;
}

TEST(Dropout, EvalAndZeroProbabilityReturnTheInput) {
  Tensor x = nonzero_input(plain_desc({10}), 8, true);
  EXPECT_TRUE(ops::dropout(x, 0.5f, false, RandomStream(1, "dropout")).same(x));
  EXPECT_TRUE(ops::dropout(x, 0.0f, true, RandomStream(1, "dropout")).same(x));
  EXPECT_EQ(autograd::tape_size(), 0u);
}

TEST(Dropout, RejectsProbabilityOutsideZeroToOne) {
  Tensor x = Tensor::zeros({4});
  const RandomStream rng(1, "dropout");
  for (float p : {1.0f, -0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    try {
      ops::dropout(x, p, true, rng);
      ADD_FAILURE() << "p = " << p << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("dropout: probability p must be in [0, 1)"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(ops::dropout(x, 1.0f, false, rng), Error) << "p is validated in eval mode too";
}

// Data parallelism (nn/sample_offset.hpp): a rank holding samples [k, k + n) of a global batch draws,
// for them, the dropout mask and the RReLU slopes that one process draws for the whole batch; without
// the offset it would draw the mask of samples [0, n).
TEST(Dropout, ASampleOffsetDrawsWhatTheWholeBatchDrawsForThoseSamples) {
  const Shape whole_shape{6, 3, 4};
  const Tensor x = nonzero_input(plain_desc(whole_shape), 5);
  const std::vector<float> values = x.to_vector();
  const int64_t per_sample = 12;
  for (const char* kind : {"dropout", "rrelu"}) {
    // A fresh, identically seeded module per pass: each forward call advances a module's draws.
    auto fresh = [&]() -> std::shared_ptr<nn::Module> {
      std::shared_ptr<nn::Module> m;
      if (std::string(kind) == "dropout") m = std::make_shared<nn::Dropout>(0.5f);
      else m = std::make_shared<nn::Activation>("rrelu(lower=0.1, upper=0.9)");
      nn::initialize(*m, 7);
      return m;
    };
    // Negative inputs for RReLU, whose random slope applies below zero.
    std::vector<float> input = values;
    if (std::string(kind) == "rrelu") for (float& v : input) v = -v;
    const Tensor whole_x = Tensor::from_vector(whole_shape, input);
    const std::vector<float> whole = (*fresh())(whole_x).to_vector();
    for (const int64_t first : {int64_t{2}, int64_t{4}}) {
      const Tensor part_x = Tensor::from_vector(
          {2, 3, 4}, std::vector<float>(input.begin() + first * per_sample, input.begin() + (first + 2) * per_sample));
      std::vector<float> part;
      {
        const nn::SampleOffsetGuard offset(first);
        part = (*fresh())(part_x).to_vector();
      }
      EXPECT_EQ(part, std::vector<float>(whole.begin() + first * per_sample, whole.begin() + (first + 2) * per_sample))
          << kind << " samples " << first << ", " << first + 1;
      const std::vector<float> unshifted = (*fresh())(part_x).to_vector();
      EXPECT_NE(unshifted, part) << kind << ": without the offset the draws are those of samples 0 and 1";
    }
  }
}
