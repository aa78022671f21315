// Optimizer steps against PyTorch's update formulas (torch/optim/sgd.py, adam.py, adamw.py), written
// out in double precision per element. Parameters are f32, so results agree to ~1e-6.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/nn.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/optim/clip.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/error.hpp"
#include "sugar/optim/adam.hpp"
#include "sugar/optim/sgd.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;
using namespace sugar::optim;

namespace {

using Vec = std::vector<double>;

Tensor make_param(const Vec& values, const std::string& name = "") {
  std::vector<float> f(values.begin(), values.end());
  Tensor p = Tensor::from_vector({static_cast<int64_t>(f.size())}, f);
  p.set_requires_grad(true);
  if (!name.empty()) p.set_name(name);
  return p;
}

void give_grad(Tensor& p, const Vec& values) {
  std::vector<float> f(values.begin(), values.end());
  p.set_grad(Tensor::from_vector(p.shape(), f));
}

void expect_values(const Tensor& p, const Vec& expected, double tol = 1e-6) {
  const std::vector<float> got = p.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
}

const Vec kStart = {1.0, -2.0, 0.5};
// Three steps' gradients, chosen with sign changes and a shrinking magnitude so momentum, dampening
// and AMSGrad's running maximum all matter.
const std::vector<Vec> kGrads = {{0.5, -0.3, 2.0}, {-0.3, 0.1, 0.4}, {0.2, 0.25, -0.1}};

// PyTorch's _single_tensor_sgd for one element, in double.
Vec reference_sgd(double lr, double momentum, double dampening, bool nesterov, double wd, int steps) {
  Vec p = kStart, buf(p.size(), 0.0);
  for (int s = 0; s < steps; ++s)
    for (size_t i = 0; i < p.size(); ++i) {
      double d = kGrads[s][i] + wd * p[i];
      if (momentum != 0) {
        buf[i] = s == 0 ? d : momentum * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  return p;
}

// PyTorch's _single_tensor_adam / adamw for one element, in double.
Vec reference_adam(double lr, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad,
                   int steps) {
  Vec p = kStart, m(p.size(), 0.0), v(p.size(), 0.0), vmax(p.size(), 0.0);
  for (int s = 0; s < steps; ++s) {
    const int t = s + 1;
    for (size_t i = 0; i < p.size(); ++i) {
      double g = kGrads[s][i];
      if (decoupled)
        p[i] *= 1 - lr * wd;
      else
        g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double step_size = lr / (1 - std::pow(b1, t));
      const double denom = std::sqrt(amsgrad ? vmax[i] : v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[i] -= step_size * m[i] / denom;
    }
  }
  return p;
}

template <class Opt, class Options>
Tensor run_steps(const Options& options, int steps) {
  Tensor p = make_param(kStart, "w");
  Opt opt({p}, options);
  for (int s = 0; s < steps; ++s) {
    give_grad(p, kGrads[s]);
    opt.step();
  }
  return p;
}

}  // namespace

TEST(Sgd, PlainStepIsLrTimesGradient) {
  SgdOptions o;
  o.lr = 0.1;
  Tensor p = run_steps<SGD>(o, 2);
  // p = 1 - 0.1 * 0.5 - 0.1 * (-0.3) = 0.98, and likewise for the other elements.
  expect_values(p, {1.0 - 0.05 + 0.03, -2.0 + 0.03 - 0.01, 0.5 - 0.2 - 0.04});
}

TEST(Sgd, MomentumFirstStepTakesTheGradientThenAccumulates) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  Tensor p = run_steps<SGD>(o, 3);
  // Element 0 by hand: buf = 0.5, p = 0.95; buf = 0.45 - 0.3 = 0.15, p = 0.935;
  // buf = 0.135 + 0.2 = 0.335, p = 0.9015.
  EXPECT_NEAR(p.to_vector()[0], 0.9015, 1e-6);
  expect_values(p, reference_sgd(0.1, 0.9, 0.0, false, 0.0, 3));
}

TEST(Sgd, DampeningScalesOnlyLaterGradients) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.dampening = 0.5;
  Tensor p = run_steps<SGD>(o, 3);
  // Element 0: buf = 0.5 (undamped), p = 0.95; buf = 0.45 + 0.5 * -0.3 = 0.3, p = 0.92;
  // buf = 0.27 + 0.5 * 0.2 = 0.37, p = 0.883.
  EXPECT_NEAR(p.to_vector()[0], 0.883, 1e-6);
  expect_values(p, reference_sgd(0.1, 0.9, 0.5, false, 0.0, 3));
}

TEST(Sgd, NesterovLooksAhead) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  Tensor p = run_steps<SGD>(o, 3);
  // Element 0: buf = 0.5, d = 0.5 + 0.45 = 0.95, p = 0.905; buf = 0.15, d = -0.3 + 0.135 = -0.165,
  // p = 0.9215; buf = 0.335, d = 0.2 + 0.3015 = 0.5015, p = 0.87135.
  EXPECT_NEAR(p.to_vector()[0], 0.87135, 1e-6);
  expect_values(p, reference_sgd(0.1, 0.9, 0.0, true, 0.0, 3));
}

TEST(Sgd, WeightDecayAddsToTheGradientBeforeMomentum) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  Tensor p = run_steps<SGD>(o, 3);
  // Element 0, step 1: d = 0.5 + 0.01 * 1 = 0.51, p = 1 - 0.051 = 0.949.
  expect_values(p, reference_sgd(0.1, 0.9, 0.0, false, 0.01, 3));
  Tensor one = run_steps<SGD>(o, 1);
  EXPECT_NEAR(one.to_vector()[0], 0.949, 1e-6);
}

TEST(Adam, ThreeStepsMatchPytorchFormula) {
  AdamOptions o;
  o.lr = 0.01;
  Tensor p = run_steps<Adam>(o, 1);
  // First step: m = 0.1 g, v = 0.001 g^2, both bias corrections undo the factors, so the step is
  // lr * g / (|g| + eps) = 0.01 * sign(g) (up to eps).
  expect_values(p, {1.0 - 0.01, -2.0 + 0.01, 0.5 - 0.01});
  p = run_steps<Adam>(o, 3);
  expect_values(p, reference_adam(0.01, 0.9, 0.999, 1e-8, 0.0, false, false, 3));
}

TEST(Adam, WeightDecayIsAnL2TermInTheGradient) {
  AdamOptions o;
  o.lr = 0.01;
  o.betas = {0.8, 0.99};
  o.eps = 1e-3;
  o.weight_decay = 0.5;
  Tensor p = run_steps<Adam>(o, 3);
  expect_values(p, reference_adam(0.01, 0.8, 0.99, 1e-3, 0.5, false, false, 3));
  // Not the decoupled form: the two differ visibly with this much decay.
  const Vec decoupled = reference_adam(0.01, 0.8, 0.99, 1e-3, 0.5, true, false, 3);
  EXPECT_GT(std::abs(p.to_vector()[1] - decoupled[1]), 1e-4);
}

TEST(Adam, AmsgradUsesTheRunningMaximumOfTheSecondMoment) {
  AdamOptions o;
  o.lr = 0.01;
  o.amsgrad = true;
  o.betas = {0.9, 0.5};  // a short second-moment memory, so v falls when the gradient shrinks
  Tensor p = run_steps<Adam>(o, 3);
  const Vec expected = reference_adam(0.01, 0.9, 0.5, 1e-8, 0.0, false, true, 3);
  expect_values(p, expected);
  // Element 2's gradient shrinks from 2.0 (v: 2, then 1.08), so the maximum differs from v.
  const Vec plain = reference_adam(0.01, 0.9, 0.5, 1e-8, 0.0, false, false, 3);
  EXPECT_GT(std::abs(expected[2] - plain[2]), 1e-5);
}

TEST(AdamW, DecaysWeightsBeforeTheAdamUpdate) {
  AdamWOptions o;
  o.lr = 0.01;
  o.weight_decay = 0.1;
  Tensor one = run_steps<AdamW>(o, 1);
  // Step 1, element 0: p = 1 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8) = 0.999 - 0.01 = 0.989.
  EXPECT_NEAR(one.to_vector()[0], 0.989, 1e-6);
  Tensor p = run_steps<AdamW>(o, 3);
  expect_values(p, reference_adam(0.01, 0.9, 0.999, 1e-8, 0.1, true, false, 3));
  EXPECT_EQ(AdamWOptions().weight_decay, 1e-2);  // PyTorch's AdamW default
}

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  Tensor a = make_param({1.0, 2.0}, "a");
  Tensor b = make_param({3.0, 4.0}, "b");
  AdamOptions o;
  Adam opt({a, b}, o);
  give_grad(a, {1.0, 1.0});
  opt.step();
  EXPECT_EQ(b.to_vector(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_NE(a.to_vector()[0], 1.0f);
  const auto counters = opt.named_counters();
  ASSERT_EQ(counters.size(), 2u);
  EXPECT_EQ(counters[0], (std::pair<std::string, int64_t>{"a.step", 1}));
  EXPECT_EQ(counters[1], (std::pair<std::string, int64_t>{"b.step", 0}));
  for (const auto& [name, t] : opt.named_state()) EXPECT_EQ(name.rfind("a.", 0), 0u) << name;
}

TEST(Optimizer, ZeroGradDropsGradients) {
  Tensor a = make_param({1.0}, "a");
  SGD opt({a}, SgdOptions{});
  give_grad(a, {1.0});
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, GradientInBlockedLayoutOrBf16GivesTheSameStep) {
  const Shape shape{2, 5, 3, 3};
  Tensor values = testkit::random_tensor(shape, 11);
  Tensor grad = testkit::random_tensor(shape, 12);
  SgdOptions o;
  o.lr = 0.5;
  o.momentum = 0.9;
  auto step_with = [&](const Tensor& g) {
    Tensor p = values.clone();
    p.set_requires_grad(true);
    SGD opt({p}, o);
    p.set_grad(g);
    opt.step();
    return p.to_vector();
  };
  const std::vector<float> from_plain = step_with(grad);
  EXPECT_EQ(step_with(grad.to_desc(testkit::blocked16(shape))), from_plain);
  // bf16 rounds the gradient to 8 mantissa bits: |g| < 1 so the error is below lr * 2^-8.
  const std::vector<float> from_bf16 = step_with(grad.to_dtype(DType::bf16));
  for (size_t i = 0; i < from_plain.size(); ++i) EXPECT_NEAR(from_bf16[i], from_plain[i], 0.5 * 0.004);
  const std::vector<float> start = values.to_vector();
  const std::vector<float> g = grad.to_vector();
  for (size_t i = 0; i < from_plain.size(); ++i) EXPECT_NEAR(from_plain[i], start[i] - 0.5 * g[i], 1e-6);
}

TEST(Optimizer, StateIsNamedAfterParametersAndReloads) {
  Tensor w = make_param({1.0, -1.0}, "layer1.0.conv1.weight");
  Tensor b = make_param({0.5}, "fc.bias");
  AdamOptions o;
  o.lr = 0.05;
  Adam opt({w, b}, o);
  give_grad(w, {0.3, -0.2});
  give_grad(b, {1.0});
  opt.step();
  give_grad(w, {0.1, 0.4});
  give_grad(b, {-0.5});
  opt.step();

  std::vector<std::string> names;
  for (const auto& [name, t] : opt.named_state()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"layer1.0.conv1.weight.exp_avg", "layer1.0.conv1.weight.exp_avg_sq",
                                             "fc.bias.exp_avg", "fc.bias.exp_avg_sq"}));
  // exp_avg of fc.bias after gradients 1 and -0.5: 0.9 * 0.1 + 0.1 * -0.5 = 0.04.
  EXPECT_NEAR(opt.named_state()[2].second.item(), 0.04, 1e-7);

  // A fresh optimizer loaded from that state takes exactly the same next step.
  Tensor w2 = make_param({0, 0}, "layer1.0.conv1.weight");
  Tensor b2 = make_param({0}, "fc.bias");
  std::memcpy(w2.data<float>(), w.data<float>(), w.bytes());
  std::memcpy(b2.data<float>(), b.data<float>(), b.bytes());
  Adam restored({w2, b2}, o);
  for (const auto& [name, t] : opt.named_state()) restored.load_state(name, t);
  for (const auto& [name, step] : opt.named_counters()) restored.load_counter(name, step);
  for (Tensor* p : {&w, &w2}) give_grad(*p, {-0.7, 0.2});
  for (Tensor* p : {&b, &b2}) give_grad(*p, {0.3});
  opt.step();
  restored.step();
  EXPECT_EQ(w2.to_vector(), w.to_vector());
  EXPECT_EQ(b2.to_vector(), b.to_vector());
  EXPECT_THROW(restored.load_state("fc.bias.momentum_buffer", b), Error);
  EXPECT_THROW(restored.load_state("fc.bias.exp_avg", w), Error);  // wrong shape
}

TEST(Optimizer, SgdMomentumBufferIsNamed) {
  Tensor w = make_param({1.0}, "fc.weight");
  SgdOptions o;
  o.momentum = 0.9;
  SGD opt({w}, o);
  EXPECT_TRUE(opt.named_state().empty());  // created lazily, as in PyTorch
  give_grad(w, {2.0});
  opt.step();
  ASSERT_EQ(opt.named_state().size(), 1u);
  EXPECT_EQ(opt.named_state()[0].first, "fc.weight.momentum_buffer");
  EXPECT_FLOAT_EQ(opt.named_state()[0].second.item(), 2.0f);
  EXPECT_TRUE(opt.named_counters().empty());
}

TEST(Optimizer, GroupsHaveTheirOwnLrAndWeightDecay) {
  Tensor a = make_param({1.0}, "a");
  Tensor b = make_param({1.0}, "b");
  SgdOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  SGD opt({ParamGroup{{a}, std::nullopt, std::nullopt}, ParamGroup{{b}, 0.01, 0.0}}, o);
  EXPECT_EQ(opt.num_groups(), 2u);
  give_grad(a, {1.0});
  give_grad(b, {1.0});
  opt.step();
  EXPECT_NEAR(a.item(), 1.0 - 0.1 * (1.0 + 0.5), 1e-7);
  EXPECT_NEAR(b.item(), 1.0 - 0.01, 1e-7);
  opt.set_lr(0.2);
  EXPECT_EQ(opt.group_lr(0), 0.2);
  EXPECT_EQ(opt.group_lr(1), 0.2);
  EXPECT_THROW(opt.set_lr(-1.0), Error);
  EXPECT_THROW(opt.group_lr(2), Error);
}

TEST(Optimizer, InvalidArgumentsAreRejected) {
  Tensor a = make_param({1.0}, "a");
  auto sgd = [&](double lr, double momentum, double dampening, bool nesterov, double wd) {
    SgdOptions o;
    o.lr = lr;
    o.momentum = momentum;
    o.dampening = dampening;
    o.nesterov = nesterov;
    o.weight_decay = wd;
    SGD opt({a}, o);
  };
  EXPECT_NO_THROW(sgd(0.1, 0.9, 0.0, true, 0.0));
  EXPECT_THROW(sgd(0.0, 0.0, 0.0, false, 0.0), Error);
  EXPECT_THROW(sgd(-0.1, 0.0, 0.0, false, 0.0), Error);
  EXPECT_THROW(sgd(0.1, 1.0, 0.0, false, 0.0), Error);
  EXPECT_THROW(sgd(0.1, -0.1, 0.0, false, 0.0), Error);
  EXPECT_THROW(sgd(0.1, 0.0, 0.0, true, 0.0), Error);   // nesterov without momentum
  EXPECT_THROW(sgd(0.1, 0.9, 0.1, true, 0.0), Error);   // nesterov with dampening
  EXPECT_THROW(sgd(0.1, 0.9, 0.0, false, -1e-4), Error);
  AdamOptions bad_beta;
  bad_beta.betas = {0.9, 1.0};
  EXPECT_THROW(Adam({a}, bad_beta), Error);
  AdamOptions bad_eps;
  bad_eps.eps = -1;
  EXPECT_THROW(Adam({a}, bad_eps), Error);
  EXPECT_THROW(SGD({a, a}, SgdOptions{}), Error);  // the same parameter twice
  Tensor not_trainable = Tensor::from_vector({1}, {1});
  EXPECT_THROW(SGD({not_trainable}, SgdOptions{}), Error);
  Tensor blocked = testkit::random_tensor_in(testkit::blocked16({1, 5, 2, 2}), 1, -1, 1, true);
  EXPECT_THROW(SGD({blocked}, SgdOptions{}), Error);
  try {
    sgd(0.1, 1.5, 0.0, false, 0.0);
    FAIL() << "expected sugar::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("momentum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1.5"), std::string::npos) << e.what();
  }
}

TEST(Optimizer, SetMomentumChangesTheCoefficient) {
  Tensor a = make_param({1.0}, "a");
  SgdOptions o;
  o.momentum = 0.9;
  SGD sgd({a}, o);
  sgd.set_momentum(0.85);
  EXPECT_EQ(sgd.options().momentum, 0.85);
  EXPECT_THROW(sgd.set_momentum(1.0), Error);
  Adam adam({a}, AdamOptions{});
  adam.set_momentum(0.95);
  EXPECT_EQ(adam.options().betas[0], 0.95);
}

// clip_grad_norm_ against its definition worked by hand: gradients (3, 4) and (12) have global norm
// sqrt(9 + 16 + 144) = 13; clipped to 6.5 every gradient is multiplied by 6.5 / (13 + 1e-6); a norm
// already below max_norm leaves them alone; either way the norm before clipping is returned.
TEST(ClipGradNorm, ScalesEveryGradientByMaxNormOverTheGlobalNorm) {
  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({1}), untouched = Tensor::zeros({3});
  a.set_grad(Tensor::from_vector({2}, {3.0f, 4.0f}));
  b.set_grad(Tensor::from_vector({1}, {12.0f}));
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_({a, b, untouched}, 20.0), 13.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_({a, b, untouched}, 6.5), 13.0);
  const auto factor = static_cast<float>(6.5 / (13.0 + 1e-6));
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3.0f * factor, 4.0f * factor}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{12.0f * factor}));
  EXPECT_FALSE(untouched.grad().defined());
  EXPECT_THROW(optim::clip_grad_norm_({a}, 0.0), Error);
}

// optim.weight_decay_on weights: the weights of convolutions and linear layers decay, everything else
// (batch-norm and layer-norm parameters, biases) is in a group of its own without decay.
TEST(BuildOptimizer, DecayOnWeightsLeavesNormsAndBiasesOut) {
  nn::Sequential model{std::make_shared<nn::Conv2d>(3, 4, 3), std::make_shared<nn::BatchNorm2d>(4),
                       std::make_shared<nn::LayerNorm2d>(4), std::make_shared<nn::Flatten>(),
                       std::make_shared<nn::Linear>(4, 2)};
  nn::initialize(model, 1);
  config::OptimConfig o;
  o.weight_decay = 0.05;
  auto all = train::build_optimizer(o, model);
  ASSERT_EQ(all->num_groups(), 1u);
  EXPECT_EQ(all->group_params(0).size(), 8u);
  EXPECT_EQ(all->group_weight_decay(0), 0.05);
  o.weight_decay_on = optim::DecayScope::weights;
  auto weights = train::build_optimizer(o, model);
  ASSERT_EQ(weights->num_groups(), 2u);
  std::vector<std::string> decayed, kept;
  for (const Tensor& p : weights->group_params(0)) decayed.push_back(p.name());
  for (const Tensor& p : weights->group_params(1)) kept.push_back(p.name());
  EXPECT_EQ(decayed, (std::vector<std::string>{"0.weight", "4.weight"}));
  EXPECT_EQ(kept, (std::vector<std::string>{"0.bias", "1.weight", "1.bias", "2.weight", "2.bias", "4.bias"}));
  EXPECT_EQ(weights->group_weight_decay(0), 0.05);
  EXPECT_EQ(weights->group_weight_decay(1), 0.0);
}

// A Vision Transformer: the patch embedding, attention projections, MLP and head weights decay; the
// position embedding, class token, layer norms and biases do not (issue 21).
TEST(BuildOptimizer, DecayOnWeightsLeavesViTEmbeddingsAndTokensOut) {
  models::ModelOptions options;
  options.name = "vit_mini";
  options.activation = "gelu";
  auto model = models::build_model(options);
  nn::initialize(*model, 1);
  config::OptimConfig o;
  o.weight_decay = 0.05;
  o.weight_decay_on = optim::DecayScope::weights;
  auto groups = train::build_optimizer(o, *model);
  ASSERT_EQ(groups->num_groups(), 2u);
  std::vector<std::string> decayed, kept;
  for (const Tensor& p : groups->group_params(0)) decayed.push_back(p.name());
  for (const Tensor& p : groups->group_params(1)) kept.push_back(p.name());
  const std::string block = "encoder.layers.encoder_layer_5.";
  const auto has = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const std::string& name : {std::string("conv_proj.weight"), block + "self_attention.in_proj_weight",
                                  block + "self_attention.out_proj.weight", block + "mlp.0.weight",
                                  block + "mlp.3.weight", std::string("heads.head.weight")})
    EXPECT_TRUE(has(decayed, name)) << name;
  for (const std::string& name : {std::string("encoder.pos_embedding"), std::string("class_token"),
                                  block + "ln_1.weight", block + "self_attention.in_proj_bias", block + "mlp.0.bias",
                                  std::string("encoder.ln.bias"), std::string("conv_proj.bias")})
    EXPECT_TRUE(has(kept, name)) << name;
  EXPECT_EQ(decayed.size(), 2u + 4u * 6u);  // conv_proj and head, 4 per block
}
