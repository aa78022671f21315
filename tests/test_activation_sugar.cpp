// SUGAR: the forward is bit-for-bit ReLU, the backward is the surrogate's closed-form derivative
// times the upstream gradient, for every allowed surrogate and both regions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/autograd.hpp"
#include "sugar/random.hpp"
#include "support/gradcheck.hpp"
#include "test_activation_reference.hpp"

using namespace sugar;
using namespace sugar::activations;
using activation_reference::elementwise_references;

namespace {

const Shape kShape{2, 5, 3, 3};

// Inputs with both signs, exact zeros (ReLU's kink) and the values of the reference probes.
Tensor mixed_input(uint64_t seed) {
  Tensor t = testkit::random_tensor(kShape, seed, -6.0f, 6.0f);
  float* p = t.data<float>();
  p[0] = 0.0f;
  p[7] = 0.0f;
  p[8] = -1.4837f;
  p[9] = 0.2671f;
  return t;
}

// Backward with a non-uniform upstream gradient r, returns (x values, r, dx) in logical order.
struct BackwardResult {
  std::vector<float> x, upstream, dx;
};

BackwardResult run_backward(const ActivationSpec& spec, const memory::desc& layout, uint64_t seed) {
  Tensor x = mixed_input(seed).to_desc(layout);
  if (x.is_plain()) x = x.clone();
  x.set_requires_grad(true);
  const Tensor y = apply_activation(spec, x, true);
  const Tensor upstream = testkit::random_tensor(kShape, seed + 100, 0.5f, 1.5f);
  autograd::backward(y, upstream.to_desc(y.desc()));
  EXPECT_TRUE(testkit::padding_is_zero(x.grad())) << spec.to_string();
  return {x.to_vector(), upstream.to_vector(), x.grad().to_vector()};
}

std::vector<std::string> surrogate_specs() {
  // Every deterministic element-wise row of the table, at defaults and with parameters.
  std::vector<std::string> specs;
  for (const auto& reference : elementwise_references())
    if (ActivationSpec::parse(reference.spec).row().kind == ActivationKind::elementwise) specs.push_back(reference.spec);
  return specs;
}

}  // namespace

TEST(Sugar, DefaultIsReluForwardWithBSiluSurrogateEverywhere) {
  EXPECT_EQ(ActivationSpec::parse("sugar").to_string(), "sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all)");
  const PointwiseValues v = evaluate_activation(ActivationSpec::parse("sugar"), {-2.0f, 0.0f, 1.0f});
  EXPECT_EQ(v.y, (std::vector<float>{0.0f, 0.0f, 1.0f}));
  EXPECT_NEAR(v.grad[1], 0.9175, 5e-5);  // bsilu'(0), not relu'(0) = 0
  const double s = 1 / (1 + std::exp(2.0));
  EXPECT_NEAR(v.grad[0], s + (-2 + 1.67) * s * (1 - s), 1e-6);  // alive for x < 0
}

TEST(Sugar, ForwardIsBitIdenticalToReluForEverySurrogateRegionAndLayout) {
  const ActivationSpec relu = ActivationSpec::parse("relu");
  for (const memory::desc& layout : {plain_desc(kShape), testkit::blocked16(kShape)}) {
    const Tensor x = mixed_input(5).to_desc(layout);
    autograd::NoGradGuard no_grad;
    const Tensor expected = apply_activation(relu, x);
    for (const std::string& surrogate : surrogate_specs()) {
      for (const char* region : {"all", "negative"}) {
        const ActivationSpec spec = ActivationSpec::parse("sugar(surrogate=" + surrogate + ", region=" + region + ")");
        const Tensor y = apply_activation(spec, x, true);
        ASSERT_EQ(y.desc(), expected.desc());
        EXPECT_EQ(std::memcmp(y.raw_data(), expected.raw_data(), expected.bytes()), 0) << spec.to_string();
      }
    }
  }
}

TEST(Sugar, BackwardIsUpstreamTimesSurrogateDerivativeForEverySurrogateAndBothRegions) {
  for (const memory::desc& layout : {plain_desc(kShape), testkit::blocked16(kShape)}) {
    for (const auto& reference : elementwise_references()) {
      if (ActivationSpec::parse(reference.spec).row().kind != ActivationKind::elementwise) continue;
      for (const char* region : {"all", "negative"}) {
        const ActivationSpec spec =
            ActivationSpec::parse("sugar(surrogate=" + reference.spec + ", region=" + region + ")");
        const BackwardResult r = run_backward(spec, layout, 9);
        int wrong = 0;
        for (size_t i = 0; i < r.x.size(); ++i) {
          const double x = r.x[i];
          // region=negative keeps ReLU's own derivative, 1, for x > 0.
          const double local = std::string(region) == "negative" && x > 0 ? 1.0 : reference.df(x);
          const double expected = r.upstream[i] * local;
          if (std::abs(r.dx[i] - expected) > 2e-6 + 4e-6 * std::abs(expected) && ++wrong <= 3)
            ADD_FAILURE() << spec.to_string() << " at x=" << x << ": dx " << r.dx[i] << " expected " << expected;
        }
      }
    }
  }
}

TEST(Sugar, FlatAndNestedSurrogateParametersReachTheBackward) {
  const ActivationSpec flat = ActivationSpec::parse("sugar(surrogate=nelu, alpha=0.1)");
  const ActivationSpec nested = ActivationSpec::parse("sugar(surrogate=nelu(alpha=0.1))");
  EXPECT_EQ(flat, nested);
  const float x = static_cast<float>(-1 / std::sqrt(3.0));
  EXPECT_NEAR(evaluate_activation(flat, {x}).grad[0], -0.6495 * 0.1, 1e-5);

  const ActivationSpec elu = ActivationSpec::parse("sugar(surrogate=elu(alpha=0.5), region=negative)");
  const PointwiseValues v = evaluate_activation(elu, {-1.0f, 2.0f});
  EXPECT_NEAR(v.grad[0], 0.5 * std::exp(-1.0), 1e-7);
  EXPECT_EQ(v.grad[1], 1.0f);
  EXPECT_EQ(v.y, (std::vector<float>{0.0f, 2.0f}));
}

TEST(Sugar, AnotherForwardKeepsItsOwnValuesAndItsDerivativeAboveZeroInNegativeRegion) {
  // forward=leaky_relu(0.2), surrogate=elu: y is leaky ReLU; region=negative passes leaky'(x) = 1
  // above 0 and elu'(x) = exp(x) at and below 0.
  const ActivationSpec spec =
      ActivationSpec::parse("sugar(forward=leaky_relu(negative_slope=0.2), surrogate=elu, region=negative)");
  const PointwiseValues v = evaluate_activation(spec, {-2.0f, 0.0f, 3.0f});
  EXPECT_FLOAT_EQ(v.y[0], -0.4f);
  EXPECT_FLOAT_EQ(v.y[2], 3.0f);
  EXPECT_NEAR(v.grad[0], std::exp(-2.0), 1e-7);
  EXPECT_FLOAT_EQ(v.grad[1], 1.0f);
  EXPECT_FLOAT_EQ(v.grad[2], 1.0f);

  // With region=all and forward=relu6, the positive side too is the surrogate's: silu'(7), not 0.
  const PointwiseValues w = evaluate_activation(ActivationSpec::parse("sugar(forward=relu6, surrogate=silu)"), {7.0f});
  EXPECT_FLOAT_EQ(w.y[0], 6.0f);
  const double s = 1 / (1 + std::exp(-7.0));
  EXPECT_NEAR(w.grad[0], s + 7 * s * (1 - s), 1e-6);
}

TEST(Sugar, NoGradModeRecordsNothing) {
  Tensor x = Tensor::from_vector({2}, {-1.0f, 1.0f});
  x.set_requires_grad(true);
  autograd::NoGradGuard no_grad;
  const Tensor y = apply_activation(ActivationSpec::parse("sugar"), x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(autograd::tape_size(), 0u);
}
