// The pluggable table: a row registered by a program works in specs, in apply_activation (forward
// and backward), and as a SUGAR surrogate; bad rows are refused. Also rrelu's training/evaluation
// behaviour, the one random row.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/eltwise.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;
using namespace sugar::activations;

namespace {

// squareplus(x; b) = (x + sqrt(x^2 + b)) / 2 (So, 2021): a smooth ReLU, like a user would add it.
double squareplus(double x, double b) { return 0.5 * (x + std::sqrt(x * x + b)); }
double squareplus_derivative(double x, double b) { return 0.5 * (1 + x / std::sqrt(x * x + b)); }

void register_squareplus_once() {
  static bool done = [] {
    ActivationRow row;
    row.name = "test_squareplus";
    row.aliases = {"test_sqp"};
    row.doc = "(x + sqrt(x^2 + b)) / 2";
    row.params = {ActivationParam::number("b", 4, "smoothness").greater_than(0)};
    row.forward = [](float x, const float* p) { return 0.5f * (x + std::sqrt(x * x + p[0])); };
    row.derivative = [](float x, const float* p) { return 0.5f * (1.0f + x / std::sqrt(x * x + p[0])); };
    register_activation(std::move(row));
    return true;
  }();
  (void)done;
}

std::string register_error(ActivationRow row) {
  try {
    register_activation(std::move(row));
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    return e.what();
  }
  ADD_FAILURE() << "row was accepted";
  return "";
}

ActivationRow minimal_row(const std::string& name) {
  ActivationRow row;
  row.name = name;
  row.forward = [](float x, const float*) { return x; };
  row.derivative = [](float, const float*) { return 1.0f; };
  return row;
}

}  // namespace

TEST(ActivationRegistry, RegisteredRowWorksInSpecsForwardAndBackward) {
  register_squareplus_once();
  const ActivationSpec spec = ActivationSpec::parse("test_sqp(b=2)");
  EXPECT_EQ(spec.to_string(), "test_squareplus(b=2)");
  const PointwiseValues v = evaluate_activation(spec, {-2.0f, 0.0f, 1.5f});
  const float xs[] = {-2.0f, 0.0f, 1.5f};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(v.y[i], squareplus(xs[i], 2), 1e-6);
    EXPECT_NEAR(v.grad[i], squareplus_derivative(xs[i], 2), 1e-6);
  }
  for (const memory::desc& layout : {plain_desc({1, 5, 2, 3}), testkit::blocked16({1, 5, 2, 3})}) {
    Tensor x = testkit::random_tensor_in(layout, 4, -3.0f, 3.0f, true);
    const auto op = [&](const std::vector<Tensor>& in) { return apply_activation(spec, in[0]); };
    EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
    autograd::NoGradGuard no_grad;
    EXPECT_TRUE(testkit::padding_is_zero(apply_activation(spec, x)));  // squareplus(0) = 1 != 0
  }
}

TEST(ActivationRegistry, RegisteredRowServesAsSugarSurrogate) {
  register_squareplus_once();
  const ActivationSpec spec = ActivationSpec::parse("sugar(surrogate=test_squareplus, b=1)");
  EXPECT_EQ(spec.to_string(), "sugar(forward=relu, surrogate=test_squareplus(b=1), region=all)");
  const PointwiseValues v = evaluate_activation(spec, {-2.0f, 0.5f});
  EXPECT_EQ(v.y, (std::vector<float>{0.0f, 0.5f}));
  EXPECT_NEAR(v.grad[0], squareplus_derivative(-2, 1), 1e-6);
  EXPECT_NEAR(v.grad[1], squareplus_derivative(0.5, 1), 1e-6);
  const PointwiseValues n = evaluate_activation(ActivationSpec::parse("sugar(surrogate=test_squareplus, region=negative)"),
                                                {-2.0f, 0.5f});
  EXPECT_NEAR(n.grad[0], squareplus_derivative(-2, 4), 1e-6);
  EXPECT_EQ(n.grad[1], 1.0f);
}

TEST(ActivationRegistry, RegisteredRowIsListedAndSuggested) {
  register_squareplus_once();
  bool listed = false;
  for (const auto& row : activation_rows()) listed |= row->name == "test_squareplus";
  EXPECT_TRUE(listed);
  const std::vector<std::string> names = activation_names();
  EXPECT_TRUE(std::set<std::string>(names.begin(), names.end()).count("test_sqp"));
  EXPECT_EQ(nearest_activation_names("test_squarplus", 1), (std::vector<std::string>{"test_squareplus"}));
}

TEST(ActivationRegistry, RefusesInconsistentRows) {
  register_squareplus_once();
  EXPECT_NE(register_error(minimal_row("relu")).find("the name 'relu' is taken"), std::string::npos);
  ActivationRow alias_taken = minimal_row("test_fresh_name");
  alias_taken.aliases = {"swish"};
  EXPECT_NE(register_error(alias_taken).find("the name 'swish' is taken"), std::string::npos);
  EXPECT_NE(register_error(minimal_row("2fast")).find("is not a valid name"), std::string::npos);

  ActivationRow no_derivative = minimal_row("test_no_derivative");
  no_derivative.derivative = nullptr;
  EXPECT_NE(register_error(no_derivative).find("needs both forward f and derivative f'"), std::string::npos);

  ActivationRow bad_default = minimal_row("test_bad_default");
  bad_default.params = {ActivationParam::number("beta", 0).greater_than(0)};
  EXPECT_NE(register_error(bad_default).find("beta=0 has a default outside its allowed values (number in (0, 1e+06])"),
            std::string::npos);

  ActivationRow twice = minimal_row("test_twice");
  twice.params = {ActivationParam::number("a", 1), ActivationParam::number("a", 2)};
  EXPECT_NE(register_error(twice).find("declares parameter 'a' twice"), std::string::npos);

  ActivationRow module_without_apply = minimal_row("test_module");
  module_without_apply.kind = ActivationKind::module;
  EXPECT_NE(register_error(module_without_apply).find("is of kind module and needs apply"), std::string::npos);
  // Nothing of the refused rows was registered.
  EXPECT_EQ(find_activation("test_no_derivative"), nullptr);
  EXPECT_EQ(find_activation("test_fresh_name"), nullptr);
}

TEST(ActivationRegistry, ModuleRowsAreRowsWithTheirOwnApply) {
  // How learnable activations plug in: kind module, learnable, and an apply that evaluates the
  // function with its parameters at the spec's values.
  ActivationRow row;
  row.name = "test_scaled";
  if (find_activation(row.name)) GTEST_SKIP() << "already registered by an earlier repetition";
  row.kind = ActivationKind::module;
  row.learnable = true;
  row.params = {ActivationParam::number("init", 0.25)};
  row.apply = [](const ActivationSpec& spec, const Tensor& x, bool, const RandomSource&) {
    const float scale = static_cast<float>(spec.number("init"));
    return ops::map_elements(x, [scale](float v) { return scale * v; });
  };
  register_activation(std::move(row));
  autograd::NoGradGuard no_grad;
  EXPECT_EQ(apply_activation(ActivationSpec::parse("test_scaled(init=0.5)"), Tensor::from_vector({2}, {2, -4})).to_vector(),
            (std::vector<float>{1, -2}));
  EXPECT_THROW(ActivationSpec::parse("sugar(surrogate=test_scaled)"), Error);
}

// ---- rrelu -----------------------------------------------------------------------------------

TEST(RRelu, EvaluationUsesTheMeanSlope) {
  const PointwiseValues v = evaluate_activation(ActivationSpec::parse("rrelu(lower=0.1, upper=0.3)"), {-2.0f, 3.0f}, false);
  EXPECT_FLOAT_EQ(v.y[0], -0.4f);
  EXPECT_FLOAT_EQ(v.y[1], 3.0f);
  EXPECT_FLOAT_EQ(v.grad[0], 0.2f);
  EXPECT_FLOAT_EQ(v.grad[1], 1.0f);
}

TEST(RRelu, TrainingDrawsOneSlopePerElementInRangeAndBackwardUsesIt) {
  const ActivationSpec spec = ActivationSpec::parse("rrelu(lower=0.1, upper=0.3)");
  std::vector<float> x(200);
  for (size_t i = 0; i < x.size(); ++i) x[i] = i % 4 == 0 ? 1.0f + i : -1.0f - 0.01f * i;
  const RandomSource random{RandomStream(42, "rrelu-test"), 1000};
  const PointwiseValues v = evaluate_activation(spec, x, true, random);
  std::set<float> slopes;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] > 0) {
      EXPECT_EQ(v.y[i], x[i]);
      EXPECT_EQ(v.grad[i], 1.0f);
      continue;
    }
    const float slope = v.grad[i];
    EXPECT_GE(slope, 0.1f);
    EXPECT_LT(slope, 0.3f);
    EXPECT_FLOAT_EQ(v.y[i], slope * x[i]);  // forward and backward use the same draw
    // Element i's slope is the stream's draw number first_counter + i.
    EXPECT_FLOAT_EQ(slope, 0.1f + 0.2f * random.stream.uniform(1000 + i));
    slopes.insert(slope);
  }
  EXPECT_GT(slopes.size(), 100u);  // one draw per element, not one per call

  // Same source: same draws. Another counter: other draws.
  EXPECT_EQ(evaluate_activation(spec, x, true, random).y, v.y);
  const RandomSource later{RandomStream(42, "rrelu-test"), 5000};
  EXPECT_NE(evaluate_activation(spec, x, true, later).y, v.y);
}

TEST(RRelu, TrainingDrawsDoNotDependOnTheLayout) {
  const ActivationSpec spec = ActivationSpec::parse("rrelu");
  const Tensor plain = testkit::random_tensor({2, 5, 3, 3}, 8, -2.0f, 2.0f);
  const RandomSource random{RandomStream(3, "layout"), 0};
  autograd::NoGradGuard no_grad;
  const Tensor y_plain = apply_activation(spec, plain, true, random);
  const Tensor y_blocked = apply_activation(spec, plain.to_desc(testkit::blocked16({2, 5, 3, 3})), true, random);
  EXPECT_TRUE(testkit::padding_is_zero(y_blocked));
  EXPECT_EQ(y_blocked.to_vector(), y_plain.to_vector());
}

TEST(RRelu, TrainingGradientMatchesFiniteDifferencesForFixedDraws) {
  const ActivationSpec spec = ActivationSpec::parse("rrelu");
  // Values at least 0.05 away from the kink at 0, so that the finite-difference step stays on one side.
  Tensor plain = testkit::random_tensor({1, 5, 2, 3}, 6, -2.0f, 2.0f);
  for (int64_t i = 0; i < plain.numel(); ++i) {
    float& v = plain.data<float>()[i];
    if (std::abs(v) < 0.05f) v = v < 0 ? -0.05f : 0.05f;
  }
  Tensor x = plain.to_desc(testkit::blocked16({1, 5, 2, 3}));
  x.set_requires_grad(true);
  const RandomSource random{RandomStream(9, "fd"), 0};
  const auto op = [&](const std::vector<Tensor>& in) { return apply_activation(spec, in[0], true, random); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}
