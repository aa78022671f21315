// Backward of every non-SUGAR activation: central finite differences (sugar::testkit) on plain and
// blocked layouts away from kinks, and the closed-form derivative everywhere, kinks included, where
// the value at a kink is PyTorch's.
#include <gtest/gtest.h>

#include <cmath>

#include "sugar/activations/apply.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/random.hpp"
#include "support/gradcheck.hpp"
#include "test_activation_reference.hpp"

using namespace sugar;
using namespace sugar::activations;
using activation_reference::elementwise_references;
using activation_reference::probe_points;

namespace {

// Values in [-5, 7) that stay at least 0.05 away from each kink, so that the finite-difference step
// (1e-2) never straddles one.
Tensor values_away_from_kinks(const Shape& shape, const std::vector<double>& kinks, uint64_t seed) {
  Tensor t = Tensor::zeros(shape);
  RandomStream rng(seed, "activation-backward");
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = -5 + 12 * rng.uniform_double(i);
    for (double kink : kinks)
      if (std::abs(v - kink) < 0.05) v = kink + (v < kink ? -0.05 : 0.05);
    p[i] = static_cast<float>(v);
  }
  return t;
}

}  // namespace

TEST(ActivationBackward, EveryElementwiseRowMatchesFiniteDifferencesOnPlainLayout) {
  for (const auto& reference : elementwise_references()) {
    const ActivationSpec spec = ActivationSpec::parse(reference.spec);
    Tensor x = values_away_from_kinks({2, 3, 5}, reference.kinks, 1);
    x.set_requires_grad(true);
    const auto op = [&](const std::vector<Tensor>& in) { return apply_activation(spec, in[0]); };
    EXPECT_EQ(testkit::check_gradients(op, {x}), 0) << reference.spec;
  }
}

TEST(ActivationBackward, EveryElementwiseRowMatchesFiniteDifferencesOnBlockedLayout) {
  // 5 channels in 16-lane blocks: check_gradients also checks that the gradient's padding is zero.
  for (const auto& reference : elementwise_references()) {
    const ActivationSpec spec = ActivationSpec::parse(reference.spec);
    Tensor x = values_away_from_kinks({1, 5, 2, 3}, reference.kinks, 2).to_desc(testkit::blocked16({1, 5, 2, 3}));
    x.set_requires_grad(true);
    const auto op = [&](const std::vector<Tensor>& in) { return apply_activation(spec, in[0]); };
    EXPECT_EQ(testkit::check_gradients(op, {x}), 0) << reference.spec;
    EXPECT_EQ(x.grad().desc(), x.desc()) << reference.spec;
  }
}

TEST(ActivationBackward, GradientEqualsClosedFormDerivativeAtEveryProbeIncludingKinks) {
  const std::vector<double> probes = probe_points();
  const std::vector<float> x(probes.begin(), probes.end());
  for (const auto& reference : elementwise_references()) {
    const PointwiseValues v = evaluate_activation(ActivationSpec::parse(reference.spec), x);
    for (size_t i = 0; i < x.size(); ++i) {
      const double expected = reference.df(x[i]);
      EXPECT_NEAR(v.grad[i], expected, 2e-6 + 4e-6 * std::abs(expected)) << reference.spec << " at x=" << x[i];
    }
  }
}

TEST(ActivationBackward, KinkGradientsArePyTorchs) {
  struct Case {
    const char* spec;
    float x;
    float grad;
  };
  const float selu_at_zero = static_cast<float>(1.0507009873554805 * 1.6732632423543772);
  const Case cases[] = {
      {"relu", 0, 0},          {"leaky_relu", 0, 0.01f},     {"elu(alpha=0.5)", 0, 0.5f}, {"selu", 0, selu_at_zero},
      {"relu6", 0, 0},         {"relu6", 6, 0},              {"hardsigmoid", -3, 0},      {"hardsigmoid", 3, 0},
      {"hardswish", -3, -0.5f}, {"hardswish", 3, 1.5f},       {"nelu", 0, 0},              {"rrelu", 0, 0.22916667f},
      {"softplus(beta=2, threshold=5)", 2.5f, static_cast<float>(1 / (1 + std::exp(-5.0)))},
  };
  for (const Case& c : cases) {
    const PointwiseValues v = evaluate_activation(ActivationSpec::parse(c.spec), {c.x});
    EXPECT_FLOAT_EQ(v.grad[0], c.grad) << c.spec << " at x=" << c.x;
  }
}

TEST(ActivationBackward, GradientsAccumulateWhenTheInputFeedsTwoActivations) {
  Tensor x = Tensor::from_vector({3}, {-1.0f, 0.5f, 2.0f});
  x.set_requires_grad(true);
  const Tensor a = apply_activation(ActivationSpec::parse("relu"), x);
  const Tensor b = apply_activation(ActivationSpec::parse("leaky_relu(negative_slope=0.5)"), x);
  autograd::backward(ops::add(a, b));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0.5f, 2.0f, 2.0f}));
}

// ReLU's gradient follows from its output (y > 0 exactly where x > 0), so it saves y and its input is
// freed once the forward pass drops it (one activation-sized tensor less per ReLU during training);
// SiLU's needs x, which stays until backward. Both still give the exact gradients.
TEST(ActivationBackward, ReluKeepsOnlyItsOutputAndSiluItsInput) {
  for (const char* name : {"relu", "silu"}) {
    Tensor x = Tensor::from_vector({3}, {-1.0f, 0.5f, 2.0f});
    x.set_requires_grad(true);
    std::weak_ptr<Storage> input_storage;
    Tensor y;
    {
      const Tensor doubled = ops::add(x, x);  // the activation's input: [-2, 1, 4]
      input_storage = doubled.storage();
      y = apply_activation(ActivationSpec::parse(name), doubled);
    }
    EXPECT_EQ(input_storage.expired(), std::string(name) == "relu") << name;
    autograd::backward(y);
    const std::vector<float> grad = x.grad().to_vector();
    if (std::string(name) == "relu") {
      EXPECT_EQ(grad, (std::vector<float>{0.0f, 2.0f, 2.0f}));
    } else {
      const auto dsilu = [](double v) {  // d/dv v*sigmoid(v)
        const double s = 1.0 / (1.0 + std::exp(-v));
        return s * (1.0 + v * (1.0 - s));
      };
      const std::vector<double> in = {-2.0, 1.0, 4.0};
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(grad[i], 2.0 * dsilu(in[i]), 1e-6) << i;
    }
  }
}
