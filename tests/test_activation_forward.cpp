// Forward values of every element-wise activation against its closed form (double precision), at
// points on both sides of every kink, on plain and blocked layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/builtin.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/activations/scalar_functions.hpp"
#include "sugar/autograd.hpp"
#include "support/gradcheck.hpp"
#include "test_activation_reference.hpp"

using namespace sugar;
using namespace sugar::activations;
using activation_reference::elementwise_references;
using activation_reference::probe_points;

namespace {

// f32 results against a double closed form: a few float ulps of the value, or an absolute floor
// for values that cancel to near zero.
void expect_close(double expected, float got, const std::string& what) {
  const double tolerance = 2e-6 + 4e-6 * std::abs(expected);
  EXPECT_NEAR(got, expected, tolerance) << what;
}

std::vector<float> as_floats(const std::vector<double>& values) {
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace

TEST(ActivationForward, EveryElementwiseRowMatchesItsClosedFormOnBothSidesOfEveryKink) {
  const std::vector<float> x = as_floats(probe_points());
  for (const auto& reference : elementwise_references()) {
    const ActivationSpec spec = ActivationSpec::parse(reference.spec);
    autograd::NoGradGuard no_grad;
    const std::vector<float> y = apply_activation(spec, Tensor::from_vector({(int64_t)x.size()}, x)).to_vector();
    for (size_t i = 0; i < x.size(); ++i)
      expect_close(reference.f(x[i]), y[i], reference.spec + " at x=" + std::to_string(x[i]));
  }
}

TEST(ActivationForward, ScalarPairOfEveryRowMatchesTheClosedForm) {
  // The scalar functions serve `activations eval`, SUGAR's region=negative backward and user rows.
  const std::vector<float> x = as_floats(probe_points());
  for (const auto& reference : elementwise_references()) {
    const ActivationSpec spec = ActivationSpec::parse(reference.spec);
    for (float v : x) {
      expect_close(reference.f(v), spec.row().forward(v, spec.kernel_params().data()),
                   reference.spec + " f at x=" + std::to_string(v));
      expect_close(reference.df(v), spec.row().derivative(v, spec.kernel_params().data()),
                   reference.spec + " f' at x=" + std::to_string(v));
    }
  }
}

TEST(ActivationForward, EveryBuiltinElementwiseRowIsCoveredByTheReferenceTable) {
  std::set<std::string> covered;
  for (const auto& reference : elementwise_references()) covered.insert(ActivationSpec::parse(reference.spec).name());
  for (int i = 0; i < static_cast<int>(Builtin::count); ++i) {
    const auto row = find_activation(builtin_name(static_cast<Builtin>(i)));
    ASSERT_NE(row, nullptr) << builtin_name(static_cast<Builtin>(i));
    if (row->kind == ActivationKind::elementwise || row->kind == ActivationKind::random)
      EXPECT_TRUE(covered.count(row->name)) << row->name << " has no closed-form test";
  }
}

TEST(ActivationForward, BSiluMatchesThePaperReferenceValuesToFloatPrecision) {
  const ActivationSpec spec = ActivationSpec::parse("bsilu");
  autograd::NoGradGuard no_grad;
  const std::vector<float> y =
      apply_activation(spec, Tensor::from_vector({3}, {-1.4837f, 0.2671f, -1.8337f})).to_vector();
  // The published values, 8 significant digits (0.2621364 is itself 1.1e-7 above the exact value).
  const float published[] = {-0.80055887f, 0.2621364f, -0.85755754f};
  const float x[] = {-1.4837f, 0.2671f, -1.8337f};
  for (int i = 0; i < 3; ++i) {
    const double exact = (x[i] + 1.67) / (1 + std::exp(-static_cast<double>(x[i]))) - 1.67 / 2;
    EXPECT_NEAR(y[i], published[i], 2e-7) << i;
    EXPECT_NEAR(y[i], exact, 2 * std::abs(std::nextafter(y[i], 0.0f) - y[i])) << i << ": more than 2 ulps";
  }
}

TEST(ActivationForward, BSiluDerivativeAtZeroIsPaperValue) {
  const PointwiseValues v = evaluate_activation(ActivationSpec::parse("bsilu"), {0.0f});
  EXPECT_NEAR(v.grad[0], 0.9175, 5e-5);  // 1/2 + 1.67/4
  EXPECT_EQ(v.y[0], 0.0f);
}

TEST(ActivationForward, NeluDerivativeHasItsMinimumMinus0_6495AlphaAtMinusOneOverSqrt3) {
  for (double alpha : {0.01, 0.05, 0.1}) {
    const ActivationSpec spec = ActivationSpec::parse("nelu(alpha=" + format_number(alpha) + ")");
    const float at = static_cast<float>(-1 / std::sqrt(3.0));
    const PointwiseValues v = evaluate_activation(spec, {at - 0.05f, at, at + 0.05f});
    EXPECT_NEAR(v.grad[1], -0.6495 * alpha, 1e-4 * alpha) << alpha;
    EXPECT_GT(v.grad[0], v.grad[1]);
    EXPECT_GT(v.grad[2], v.grad[1]);
  }
}

TEST(ActivationForward, BlockedLayoutGivesThePlainValuesAndKeepsPaddingZero) {
  // 5 channels in 16-lane blocks: rows with f(0) != 0 (sigmoid, hardsigmoid, softplus) must not
  // write into the padding lanes.
  const Tensor plain = testkit::random_tensor({2, 5, 3, 3}, 11, -4.0f, 4.0f);
  const Tensor blocked = plain.to_desc(testkit::blocked16({2, 5, 3, 3}));
  autograd::NoGradGuard no_grad;
  for (const auto& reference : elementwise_references()) {
    const ActivationSpec spec = ActivationSpec::parse(reference.spec);
    const Tensor y_plain = apply_activation(spec, plain);
    const Tensor y_blocked = apply_activation(spec, blocked);
    EXPECT_EQ(y_blocked.desc(), blocked.desc()) << reference.spec << " changed the layout";
    EXPECT_TRUE(testkit::padding_is_zero(y_blocked)) << reference.spec;
    // oneDNN's JIT kernels (absolute accuracy about 1e-6) round differently in a vector tail than in a
    // full block.
    const std::vector<float> b = y_blocked.to_vector(), p = y_plain.to_vector();
    for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(b[i], p[i], 1e-6 + 1e-6 * std::abs(p[i])) << reference.spec;
  }
}

TEST(ActivationForward, Bf16InputGivesBf16OutputCloseToF32) {
  const Tensor x = testkit::random_tensor({2, 5, 3, 3}, 3, -4.0f, 4.0f);
  const Tensor x16 = x.to_dtype(DType::bf16);
  autograd::NoGradGuard no_grad;
  for (const char* text : {"relu", "bsilu", "sigmoid", "softplus", "sugar"}) {
    const ActivationSpec spec = ActivationSpec::parse(text);
    const Tensor y16 = apply_activation(spec, x16);
    EXPECT_EQ(y16.dtype(), DType::bf16) << text;
    const std::vector<float> expected = apply_activation(spec, x16.to_dtype(DType::f32)).to_vector();
    const std::vector<float> got = y16.to_vector();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-2 * (1 + std::abs(expected[i]))) << text;
  }
}

TEST(ActivationForward, SeluUsesPyTorchConstants) {
  autograd::NoGradGuard no_grad;
  const std::vector<float> y = apply_activation(ActivationSpec::parse("selu"), Tensor::from_vector({2}, {1, -50})).to_vector();
  EXPECT_FLOAT_EQ(y[0], 1.0507009873554805f);
  EXPECT_FLOAT_EQ(y[1], static_cast<float>(-1.0507009873554805 * 1.6732632423543772));
}

TEST(ActivationForward, VectorisableExpExpm1AndLog1pExpAreWithinAFewUlps) {
  // The loops' own exp (no library call, so that they vectorise) against double precision.
  auto ulps = [](float got, double exact) {
    const float rounded = static_cast<float>(exact);
    const double ulp = std::abs(static_cast<double>(std::nextafter(rounded, INFINITY)) - rounded);
    return std::abs(got - exact) / ulp;
  };
  double worst_exp = 0, worst_expm1 = 0;
  for (double v = -87; v <= 88; v += 1.7e-3) {
    const float x = static_cast<float>(v);
    worst_exp = std::max(worst_exp, ulps(scalar::fast_exp(x), std::exp(static_cast<double>(x))));
  }
  for (double v = -20; v <= 20; v += 3.1e-4) {
    const float x = static_cast<float>(v);
    if (x != 0.0f) worst_expm1 = std::max(worst_expm1, ulps(scalar::fast_expm1(x), std::expm1(static_cast<double>(x))));
  }
  double worst_log1p_exp = 0;
  for (double v = -80; v <= 80; v += 1.3e-3) {
    const float x = static_cast<float>(v);
    worst_log1p_exp = std::max(worst_log1p_exp, ulps(scalar::log1p_exp(x), std::log1p(std::exp(static_cast<double>(x)))));
  }
  EXPECT_LE(worst_exp, 2.0);
  EXPECT_LE(worst_expm1, 3.0);
  EXPECT_LE(worst_log1p_exp, 4.0);
  EXPECT_FLOAT_EQ(scalar::fast_expm1(1e-6f), 1.0000005e-6f);  // no cancellation near 0
  EXPECT_EQ(scalar::fast_exp(0.0f), 1.0f);
  EXPECT_EQ(scalar::fast_expm1(0.0f), 0.0f);
}
