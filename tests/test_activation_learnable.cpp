// The learnable and spatial activations (prelu, acon_c, meta_acon_c, frelu, maxout): forward against
// closed forms and double-precision reference loops written out here, gradients of x and of every
// learnable parameter against central finite differences (plain and blocked nChw16c layouts, 5
// channels in a 16-lane block), parameter names, shapes and initial values, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "sugar/activations/apply.hpp"
#include "sugar/ops/channel_layout.hpp"
#include "sugar/activations/learnable/ops.hpp"
#include "sugar/nn/learnable_activations.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/runtime.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;
using activations::ActivationSpec;
namespace learnable = sugar::activations::learnable;

namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// ACON-C written out: (p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x.
double acon_reference(double x, double p1, double p2, double beta) {
  const double d = p1 - p2;
  return d * x * sigmoid(beta * d * x) + p2 * x;
}
// Its derivative in x: d * (s + z * s * (1 - s)) + p2 with z = beta * d * x.
double acon_reference_dx(double x, double p1, double p2, double beta) {
  const double d = p1 - p2;
  const double z = beta * d * x;
  const double s = sigmoid(z);
  return d * (s + z * s * (1 - s)) + p2;
}

class Holder : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string type_name() const override { return "Holder"; }
};

// root.layer1.0.act1 = make_activation(spec, channels), initialised with seed 3.
struct Site {
  std::shared_ptr<Holder> root;
  std::shared_ptr<nn::ActivationModule> act;
};
Site make_site(const std::string& spec, int64_t channels) {
  Site site;
  site.root = std::make_shared<Holder>();
  auto layer1 = std::make_shared<nn::Sequential>();
  auto block = std::make_shared<Holder>();
  site.act = block->register_module("act1", nn::make_activation(ActivationSpec::parse(spec), channels));
  layer1->push_back(block);
  site.root->register_module("layer1", layer1);
  nn::initialize(*site.root, 3);
  return site;
}

std::shared_ptr<nn::ActivationModule> make_module(const std::string& spec, int64_t channels) {
  return make_site(spec, channels).act;
}

std::map<std::string, Shape> parameter_shapes(const nn::Module& m) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : m.named_parameters()) shapes[name] = t.shape();
  return shapes;
}

Tensor parameter(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  ADD_FAILURE() << "no parameter " << name;
  return Tensor();
}

void set_values(const Tensor& param, const std::vector<float>& values) {
  ASSERT_TRUE(param.is_plain());
  ASSERT_EQ(static_cast<size_t>(param.numel()), values.size());
  std::memcpy(param.raw_data(), values.data(), values.size() * sizeof(float));
  param.bump_version();  // layers cache reordered copies of their weights (tensor.hpp)
}

// Plain values (row-major [N, C, H, W]) in `layout`, as a leaf that requires a gradient.
Tensor input_in(const std::vector<float>& values, const memory::desc& layout) {
  Tensor plain = Tensor::from_vector(layout.dims(), values);
  Tensor out = plain.to_desc(layout);
  if (out.same(plain)) out = plain.clone();
  out.set_requires_grad(true);
  return out;
}

std::vector<float> random_values(int64_t n, uint64_t seed, float lo, float hi) {
  RandomStream rng(seed, "learnable-test");
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * rng.uniform(i);
  return v;
}

// |x| >= 0.1: at least ten finite-difference steps away from a kink at 0.
std::vector<float> away_from_zero(std::vector<float> v) {
  for (float& x : v) x = x < 0 ? x - 0.1f : x + 0.1f;
  return v;
}

const Shape kShape{2, 5, 3, 3};

std::vector<memory::desc> test_layouts(const Shape& shape) {
  return {plain_desc(shape), testkit::blocked16(shape)};
}

// One finite-difference check of x and every parameter of `module`: check_gradients hands the op
// perturbed copies of its inputs; the op copies them into the module's own parameter tensors (and the
// unperturbed values back), so the module computes with exactly the values being checked.
int check_module_gradients(nn::Module& module, const Tensor& x, const testkit::GradcheckOptions& options = {}) {
  std::vector<Tensor> inputs{x};
  std::vector<Tensor> originals{Tensor()};
  for (const auto& [name, p] : module.named_parameters()) {
    inputs.push_back(p);
    originals.push_back(p.clone());
  }
  const auto op = [&](const std::vector<Tensor>& in) {
    for (size_t k = 1; k < in.size(); ++k) {
      const Tensor& source = in[k].same(inputs[k]) ? originals[k] : in[k];
      std::memcpy(inputs[k].raw_data(), source.to_plain().raw_data(), inputs[k].numel() * sizeof(float));
      inputs[k].bump_version();  // in-place writes must be announced: Conv2d caches its reordered weight
    }
    return module.forward(in[0]);
  };
  const int mismatches = testkit::check_gradients(op, inputs, options);
  for (size_t k = 1; k < inputs.size(); ++k) {
    std::memcpy(inputs[k].raw_data(), originals[k].raw_data(), inputs[k].numel() * sizeof(float));
    inputs[k].bump_version();
  }
  return mismatches;
}

int64_t index4(const Shape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return ((n * s[1] + c) * s[2] + h) * s[3] + w;
}

}  // namespace

// ---- registration, names, shapes, initial values ---------------------------------------------------

// In the table and the factory table from the start: no registration call.
TEST(LearnableActivations, RowsAreModuleRowsWithTheirParameters) {
  for (const char* name : {"prelu", "acon_c", "meta_acon_c", "frelu", "maxout"}) {
    const auto row = activations::find_activation(name);
    ASSERT_NE(row, nullptr) << name;
    EXPECT_EQ(row->kind, activations::ActivationKind::module) << name;
    EXPECT_TRUE(row->learnable) << name;
    EXPECT_TRUE(nn::find_activation_module(name)) << name;
  }
  EXPECT_EQ(ActivationSpec::parse("prelu").to_string(), "prelu(init=0.25)");
  EXPECT_EQ(ActivationSpec::parse("acon_c").to_string(), "acon_c(p1=1, p2=0, beta=1)");
  EXPECT_EQ(ActivationSpec::parse("meta_acon_c").to_string(), "meta_acon_c(r=16, p1=1, p2=0)");
  EXPECT_EQ(ActivationSpec::parse("maxout").to_string(), "maxout(k=2)");
  EXPECT_THROW(ActivationSpec::parse("maxout(k=0)"), Error);
  EXPECT_THROW(ActivationSpec::parse("sugar(surrogate=prelu)"), Error);  // not a surrogate
}

TEST(LearnableActivations, ParametersAreNamedUnderTheSiteWithReferenceShapes) {
  using Shapes = std::map<std::string, Shape>;
  EXPECT_EQ(parameter_shapes(*make_site("prelu", 5).root), (Shapes{{"layer1.0.act1.weight", {5}}}));
  EXPECT_EQ(parameter_shapes(*make_site("acon_c", 5).root), (Shapes{{"layer1.0.act1.p1", {1, 5, 1, 1}},
                                                                    {"layer1.0.act1.p2", {1, 5, 1, 1}},
                                                                    {"layer1.0.act1.beta", {1, 5, 1, 1}}}));
  // M = max(r, C / r) = max(16, 0) = 16.
  EXPECT_EQ(parameter_shapes(*make_site("meta_acon_c", 5).root),
            (Shapes{{"layer1.0.act1.p1", {1, 5, 1, 1}},
                    {"layer1.0.act1.p2", {1, 5, 1, 1}},
                    {"layer1.0.act1.fc1.weight", {16, 5, 1, 1}},
                    {"layer1.0.act1.fc1.bias", {16}},
                    {"layer1.0.act1.fc2.weight", {5, 16, 1, 1}},
                    {"layer1.0.act1.fc2.bias", {5}}}));
  EXPECT_EQ(dynamic_cast<nn::MetaAconC&>(*make_module("meta_acon_c", 512)).hidden_channels(), 32);
  EXPECT_EQ(dynamic_cast<nn::MetaAconC&>(*make_module("meta_acon_c(r=4)", 64)).hidden_channels(), 16);
  const Site frelu = make_site("frelu", 5);
  EXPECT_EQ(parameter_shapes(*frelu.root), (Shapes{{"layer1.0.act1.conv.weight", {5, 1, 3, 3}},
                                                   {"layer1.0.act1.bn.weight", {5}},
                                                   {"layer1.0.act1.bn.bias", {5}}}));
  std::vector<std::string> buffers;
  for (const auto& [name, t] : frelu.root->named_buffers()) buffers.push_back(name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"layer1.0.act1.bn.running_mean", "layer1.0.act1.bn.running_var"}));
  ASSERT_EQ(frelu.root->named_counters().size(), 1u);
  EXPECT_EQ(frelu.root->named_counters()[0].first, "layer1.0.act1.bn.num_batches_tracked");
  EXPECT_EQ(parameter_shapes(*make_site("maxout", 5).root),
            (Shapes{{"layer1.0.act1.a", {2, 5}}, {"layer1.0.act1.b", {2, 5}}}));
  EXPECT_EQ(parameter_shapes(*make_site("maxout(k=3)", 5).root),
            (Shapes{{"layer1.0.act1.a", {3, 5}}, {"layer1.0.act1.b", {3, 5}}}));
  // Every one is an activation site of the model.
  EXPECT_EQ(nn::activation_sites(*frelu.root), (std::vector<std::string>{"layer1.0.act1"}));
}

TEST(LearnableActivations, SpecParametersSetInitialValues) {
  const auto prelu = make_module("prelu(init=0.2)", 5);
  EXPECT_EQ(parameter(*prelu, "weight").to_vector(), std::vector<float>(5, 0.2f));
  EXPECT_EQ(parameter(*make_module("prelu", 3), "weight").to_vector(), std::vector<float>(3, 0.25f));
  const auto acon = make_module("acon_c(p1=1.2, p2=0.1, beta=2)", 5);
  EXPECT_EQ(parameter(*acon, "p1").to_vector(), std::vector<float>(5, 1.2f));
  EXPECT_EQ(parameter(*acon, "p2").to_vector(), std::vector<float>(5, 0.1f));
  EXPECT_EQ(parameter(*acon, "beta").to_vector(), std::vector<float>(5, 2.0f));
  const auto meta = make_module("meta_acon_c(p1=0.9, p2=0.2)", 5);
  EXPECT_EQ(parameter(*meta, "p1").to_vector(), std::vector<float>(5, 0.9f));
  EXPECT_EQ(parameter(*meta, "p2").to_vector(), std::vector<float>(5, 0.2f));
  EXPECT_EQ(parameter(*meta, "fc1.bias").to_vector(), std::vector<float>(16, 0.0f));
  const auto maxout = make_module("maxout(k=3)", 2);
  EXPECT_EQ(parameter(*maxout, "a").to_vector(), (std::vector<float>{1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(parameter(*maxout, "b").to_vector(), std::vector<float>(6, 0.0f));
  const auto frelu = make_module("frelu", 5);
  EXPECT_EQ(parameter(*frelu, "bn.weight").to_vector(), std::vector<float>(5, 1.0f));
  // The spec's values are restored by re-initialising (after an optimizer changed them).
  set_values(parameter(*prelu, "weight"), {1, 2, 3, 4, 5});
  nn::initialize(*prelu, 1);
  EXPECT_EQ(parameter(*prelu, "weight").to_vector(), std::vector<float>(5, 0.2f));
}

TEST(LearnableActivations, PointwiseEvaluationUsesTheSpecValues) {
  const std::vector<float> x{-2.0f, -0.5f, 0.3f, 1.0f};
  const auto prelu = activations::evaluate_activation(ActivationSpec::parse("prelu(init=0.2)"), x);
  EXPECT_EQ(prelu.y, (std::vector<float>{-0.4f, -0.1f, 0.3f, 1.0f}));
  EXPECT_EQ(prelu.grad, (std::vector<float>{0.2f, 0.2f, 1.0f, 1.0f}));
  const auto acon = activations::evaluate_activation(ActivationSpec::parse("acon_c(p1=1.2, p2=0.1, beta=2)"), x);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(acon.y[i], acon_reference(x[i], 1.2, 0.1, 2), 1e-6) << x[i];
    EXPECT_NEAR(acon.grad[i], acon_reference_dx(x[i], 1.2, 0.1, 2), 1e-6) << x[i];
  }
  // x = -2: 1.1 * -2 * sigmoid(-4.4) + 0.1 * -2 = -0.22707..., written out.
  EXPECT_NEAR(acon.y[0], -2.2 / (1 + std::exp(4.4)) - 0.2, 1e-6);
  const auto meta = activations::evaluate_activation(ActivationSpec::parse("meta_acon_c"), x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(meta.y[i], x[i] * sigmoid(0.5 * x[i]), 1e-6) << x[i];
  for (const char* spec : {"frelu", "maxout"}) {
    const auto v = activations::evaluate_activation(ActivationSpec::parse(spec), {-1.0f, 0.0f, 2.0f});
    EXPECT_EQ(v.y, (std::vector<float>{0.0f, 0.0f, 2.0f})) << spec;
    EXPECT_EQ(v.grad, (std::vector<float>{0.0f, 1.0f, 1.0f})) << spec;  // ties go to x
  }
}

// ---- forward against closed forms -----------------------------------------------------------------

TEST(PReLU, ForwardIsPerChannelLeakyRelu) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("prelu", 5);
    const std::vector<float> slopes{0.1f, 0.2f, -0.3f, 0.0f, 1.5f};
    set_values(parameter(*m, "weight"), slopes);
    const std::vector<float> xv = random_values(2 * 5 * 9, 1, -2, 2);
    const Tensor y = m->forward(input_in(xv, layout));
    EXPECT_EQ(y.desc(), layout);
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) {
      const float a = slopes[(i / 9) % 5];
      EXPECT_EQ(yv[i], xv[i] > 0 ? xv[i] : a * xv[i]) << i;
    }
  }
  // A few points written out: channel 2 (slope -0.3) at x = -2 gives 0.6, at x = 0.7 gives 0.7.
  const auto m = make_module("prelu", 3);
  set_values(parameter(*m, "weight"), {0.1f, 0.2f, -0.3f});
  const Tensor y = m->forward(Tensor::from_vector({1, 3, 1, 2}, {-1, 1, -2, 2, -2, 0.7f}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{-0.1f, 1, -0.4f, 2, 0.6f, 0.7f}));
}

TEST(PReLU, AcceptsTwoDimensionalInputAndBf16) {
  const auto m = make_module("prelu(init=0.5)", 3);
  const Tensor y = m->forward(Tensor::from_vector({2, 3}, {-1, 2, -4, 1, -2, 3}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{-0.5f, 2, -2, 1, -1, 3}));
  const Tensor xb = Tensor::from_vector({1, 3, 1, 2}, {-1, 2, -4, 1, -2, 3}).to_desc(
      memory::desc({1, 3, 1, 2}, memory::data_type::bf16, memory::format_tag::nChw16c));
  const Tensor yb = m->forward(xb);
  EXPECT_EQ(yb.dtype(), DType::bf16);
  EXPECT_EQ(yb.desc(), xb.desc());
  EXPECT_EQ(yb.to_vector(), (std::vector<float>{-0.5f, 2, -2, 1, -1, 3}));  // exact in bf16
}

TEST(AconC, ForwardMatchesTheClosedFormPerChannel) {
  const std::vector<float> p1{1.2f, 0.5f, 2.0f, -1.0f, 1.0f};
  const std::vector<float> p2{0.1f, -0.3f, 0.5f, 0.2f, 0.0f};
  const std::vector<float> beta{2.0f, 1.0f, 0.5f, 3.0f, 1.0f};
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("acon_c", 5);
    set_values(parameter(*m, "p1"), p1);
    set_values(parameter(*m, "p2"), p2);
    set_values(parameter(*m, "beta"), beta);
    const std::vector<float> xv = random_values(2 * 5 * 9, 2, -3, 3);
    const Tensor y = m->forward(input_in(xv, layout));
    EXPECT_EQ(y.desc(), layout);
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) {
      const size_t c = (i / 9) % 5;
      EXPECT_NEAR(yv[i], acon_reference(xv[i], p1[c], p2[c], beta[c]), 1e-5) << i;
    }
  }
  // With the defaults (p1 = 1, p2 = 0, beta = 1) ACON-C is SiLU: at x = 1, sigmoid(1) = 0.7310586.
  const Tensor y = make_module("acon_c", 1)->forward(Tensor::from_vector({1, 1, 1, 2}, {1.0f, -1.0f}));
  EXPECT_NEAR(y.to_vector()[0], 0.7310586, 1e-6);
  EXPECT_NEAR(y.to_vector()[1], -0.2689414, 1e-6);
}

TEST(MetaAconC, ForwardMatchesAReferenceLoop) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("meta_acon_c", 5);
    const std::vector<float> p1{1.2f, 0.5f, 2.0f, -1.0f, 1.0f};
    const std::vector<float> p2{0.1f, -0.3f, 0.5f, 0.2f, 0.0f};
    set_values(parameter(*m, "p1"), p1);
    set_values(parameter(*m, "p2"), p2);
    set_values(parameter(*m, "fc1.bias"), random_values(16, 3, -0.5f, 0.5f));
    set_values(parameter(*m, "fc2.bias"), random_values(5, 4, -0.5f, 0.5f));
    const std::vector<float> w1 = parameter(*m, "fc1.weight").to_vector();  // [16, 5]
    const std::vector<float> b1 = parameter(*m, "fc1.bias").to_vector();
    const std::vector<float> w2 = parameter(*m, "fc2.weight").to_vector();  // [5, 16]
    const std::vector<float> b2 = parameter(*m, "fc2.bias").to_vector();
    const std::vector<float> xv = random_values(2 * 5 * 9, 5, -2, 2);
    const Tensor y = m->forward(input_in(xv, layout));
    EXPECT_EQ(y.desc(), layout);
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> yv = y.to_vector();
    for (int64_t n = 0; n < 2; ++n) {
      double mean[5] = {}, hidden[16] = {};
      for (int64_t c = 0; c < 5; ++c) {
        for (int64_t s = 0; s < 9; ++s) mean[c] += xv[(n * 5 + c) * 9 + s];
        mean[c] /= 9;
      }
      for (int64_t j = 0; j < 16; ++j) {
        hidden[j] = b1[j];
        for (int64_t c = 0; c < 5; ++c) hidden[j] += w1[j * 5 + c] * mean[c];
      }
      for (int64_t c = 0; c < 5; ++c) {
        double u = b2[c];
        for (int64_t j = 0; j < 16; ++j) u += w2[c * 16 + j] * hidden[j];
        const double beta = sigmoid(u);
        for (int64_t s = 0; s < 9; ++s) {
          const int64_t i = (n * 5 + c) * 9 + s;
          EXPECT_NEAR(yv[i], acon_reference(xv[i], p1[c], p2[c], beta), 1e-5) << n << "," << c << "," << s;
        }
      }
    }
  }
}

// Depthwise 3x3 convolution (padding 1, no bias), batch-norm with batch statistics, max with x.
static std::vector<double> frelu_reference(const std::vector<float>& x, const Shape& s, const std::vector<float>& w,
                                    const std::vector<float>& gamma, const std::vector<float>& beta) {
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  std::vector<double> u(x.size(), 0.0), y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t q = 0; q < W; ++q) {
          double sum = 0;
          for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 3; ++j) {
              const int64_t hh = h + i - 1, ww = q + j - 1;
              if (hh >= 0 && hh < H && ww >= 0 && ww < W) sum += w[c * 9 + i * 3 + j] * x[index4(s, n, c, hh, ww)];
            }
          u[index4(s, n, c, h, q)] = sum;
        }
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    const double count = static_cast<double>(N * H * W);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < H * W; ++k) mean += u[(n * C + c) * H * W + k];
    mean /= count;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < H * W; ++k) var += std::pow(u[(n * C + c) * H * W + k] - mean, 2);
    var /= count;  // biased, as batch-norm normalises
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < H * W; ++k) {
        const int64_t i = (n * C + c) * H * W + k;
        const double t = gamma[c] * (u[i] - mean) / std::sqrt(var + 1e-5) + beta[c];
        y[i] = std::max<double>(x[i], t);
      }
  }
  return y;
}

TEST(FReLU, ForwardIsMaxOfXAndBatchNormOfDepthwiseConv) {
  const Shape shape{2, 5, 4, 4};
  for (const memory::desc& layout : test_layouts(shape)) {
    const auto m = make_module("frelu", 5);
    const std::vector<float> gamma{1.0f, 0.5f, 2.0f, 1.5f, 0.8f};
    const std::vector<float> beta{0.0f, 0.3f, -0.2f, 0.1f, 0.5f};
    set_values(parameter(*m, "bn.weight"), gamma);
    set_values(parameter(*m, "bn.bias"), beta);
    const std::vector<float> w = parameter(*m, "conv.weight").to_vector();
    const std::vector<float> xv = random_values(2 * 5 * 16, 6, -2, 2);
    const Tensor y = m->forward(input_in(xv, layout));
    EXPECT_EQ(y.desc(), layout);
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> yv = y.to_vector();
    const std::vector<double> expected = frelu_reference(xv, shape, w, gamma, beta);
    int funnel_wins = 0;
    for (size_t i = 0; i < xv.size(); ++i) {
      EXPECT_NEAR(yv[i], expected[i], 1e-4) << i;
      funnel_wins += expected[i] > xv[i];
    }
    EXPECT_GT(funnel_wins, 20);  // both branches are exercised
    EXPECT_LT(funnel_wins, 140);
  }
}

TEST(FunnelMax, TiesGoToXAndGradientsToTheWinner) {
  Tensor x = Tensor::from_vector({4}, {1, -1, 2, 0.5f});
  Tensor t = Tensor::from_vector({4}, {0, 3, 2, 0.7f});
  x.set_requires_grad(true);
  t.set_requires_grad(true);
  const Tensor y = learnable::funnel_max(x, t);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1, 3, 2, 0.7f}));
  autograd::backward(y, Tensor::from_vector({4}, {10, 20, 30, 40}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{10, 0, 30, 0}));
  EXPECT_EQ(t.grad().to_vector(), (std::vector<float>{0, 20, 0, 40}));
}

TEST(Maxout, StartsAsReluExactly) {
  std::vector<float> xv = random_values(2 * 5 * 9, 7, -3, 3);
  xv[0] = 0.0f;
  xv[1] = -0.0f;
  xv[2] = 1e-30f;
  xv[3] = -1e-30f;
  for (const char* spec : {"maxout", "maxout(k=3)"})
    for (const memory::desc& layout : test_layouts(kShape)) {
      const Tensor x = input_in(xv, layout);
      const Tensor y = make_module(spec, 5)->forward(x);
      EXPECT_EQ(y.desc(), layout);
      EXPECT_TRUE(testkit::padding_is_zero(y));
      autograd::NoGradGuard no_grad;
      const Tensor relu = activations::apply_activation(ActivationSpec::parse("relu"), x);
      const std::vector<float> yv = y.to_vector(), rv = relu.to_vector();
      ASSERT_EQ(yv.size(), rv.size());
      for (size_t i = 0; i < yv.size(); ++i) {
        EXPECT_EQ(yv[i], rv[i]) << i;
        EXPECT_EQ(std::signbit(yv[i]), false) << i;
      }
      autograd::clear_tape();
    }
}

TEST(Maxout, ForwardIsTheLargestPiece) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("maxout(k=3)", 5);
    const std::vector<float> a = random_values(15, 8, -2, 2), b = random_values(15, 9, -1, 1);
    set_values(parameter(*m, "a"), a);
    set_values(parameter(*m, "b"), b);
    const std::vector<float> xv = random_values(2 * 5 * 9, 10, -3, 3);
    const Tensor y = m->forward(input_in(xv, layout));
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) {
      const size_t c = (i / 9) % 5;
      const double expected = std::max({a[c] * xv[i] + b[c], a[5 + c] * xv[i] + b[5 + c], a[10 + c] * xv[i] + b[10 + c]});
      EXPECT_NEAR(yv[i], expected, 1e-6) << i;
    }
  }
}

// ---- gradients of x and of every learnable parameter ----------------------------------------------

TEST(PReLU, GradientsOfInputAndWeightMatchFiniteDifferences) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("prelu", 5);
    set_values(parameter(*m, "weight"), {0.1f, 0.2f, -0.3f, 0.6f, 1.5f});
    const Tensor x = input_in(away_from_zero(random_values(2 * 5 * 9, 11, -1, 1)), layout);
    EXPECT_EQ(check_module_gradients(*m, x), 0) << describe(layout);
  }
}

TEST(AconC, GradientsOfInputP1P2BetaMatchFiniteDifferences) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("acon_c(p1=1.2, p2=0.1, beta=2)", 5);
    set_values(parameter(*m, "p1"), {1.2f, 0.5f, 2.0f, -1.0f, 1.0f});
    set_values(parameter(*m, "p2"), {0.1f, -0.3f, 0.5f, 0.2f, 0.0f});
    set_values(parameter(*m, "beta"), {2.0f, 1.0f, 0.5f, 3.0f, -1.0f});
    const Tensor x = input_in(random_values(2 * 5 * 9, 12, -2, 2), layout);
    EXPECT_EQ(check_module_gradients(*m, x), 0) << describe(layout);
  }
}

TEST(AconC, PerSampleBetaInABlockedLayoutReceivesItsGradient) {
  // The op meta_acon_c uses: beta [N, C, 1, 1], here blocked like a 1x1 convolution's output.
  const Tensor x = testkit::random_tensor_in(testkit::blocked16(kShape), 13, -2, 2, true);
  const Tensor p1 = testkit::random_tensor({1, 5, 1, 1}, 14, 0.5f, 1.5f, true);
  const Tensor p2 = testkit::random_tensor({1, 5, 1, 1}, 15, -0.5f, 0.5f, true);
  const Tensor beta = testkit::random_tensor_in(testkit::blocked16({2, 5, 1, 1}), 16, 0.2f, 2.0f, true);
  const auto op = [](const std::vector<Tensor>& in) { return learnable::acon_c(in[0], in[1], in[2], in[3]); };
  EXPECT_EQ(testkit::check_gradients(op, {x, p1, p2, beta}), 0);
}

TEST(MetaAconC, GradientsOfInputP1P2AndTheBetaNetworkMatchFiniteDifferences) {
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("meta_acon_c", 5);
    set_values(parameter(*m, "p1"), {1.2f, 0.5f, 2.0f, -1.0f, 1.0f});
    set_values(parameter(*m, "p2"), {0.1f, -0.3f, 0.5f, 0.2f, 0.0f});
    set_values(parameter(*m, "fc1.bias"), random_values(16, 17, -0.5f, 0.5f));
    set_values(parameter(*m, "fc2.bias"), random_values(5, 18, -0.5f, 0.5f));
    const Tensor x = input_in(random_values(2 * 5 * 9, 19, -2, 2), layout);
    EXPECT_EQ(check_module_gradients(*m, x), 0) << describe(layout);
  }
}

TEST(FReLU, GradientsOfInputConvAndBatchNormMatchFiniteDifferences) {
  // Away from ties: |x| in [1.2, 2] while the funnel term stays within about +-0.7 (BN output scaled by
  // gamma = 0.2, bias 0), so x wins where positive and the funnel term where x is negative.
  std::vector<float> xv = random_values(2 * 5 * 9, 20, -0.8f, 0.8f);
  for (float& v : xv) v = v < 0 ? v - 1.2f : v + 1.2f;
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("frelu", 5);
    set_values(parameter(*m, "bn.weight"), {0.2f, 0.15f, 0.2f, 0.1f, 0.2f});
    set_values(parameter(*m, "bn.bias"), {0.0f, 0.05f, -0.05f, 0.0f, 0.1f});
    const Tensor x = input_in(xv, layout);
    EXPECT_EQ(check_module_gradients(*m, x), 0) << describe(layout);
  }
}

TEST(Maxout, GradientsOfInputAAndBMatchFiniteDifferences) {
  // Pieces per channel with distinct slopes; inputs moved until the best piece leads by >= 0.1.
  const std::vector<float> a{1.0f, 0.8f, 1.2f, 0.5f, 1.5f, -0.5f, -0.2f, 0.0f, -1.0f, 0.3f, 0.2f, 2.0f, 0.4f, 1.5f, -0.8f};
  const std::vector<float> b{0.2f, 0.0f, -0.1f, 0.3f, 0.0f, 0.1f, 0.2f, 0.1f, -0.2f, 0.4f, -0.5f, -1.0f, 0.0f, 0.5f, 0.6f};
  std::vector<float> xv = random_values(2 * 5 * 9, 21, -2, 2);
  std::vector<int> winners(3, 0);
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t c = (i / 9) % 5;
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 100);
      double v[3];
      for (int j = 0; j < 3; ++j) v[j] = a[j * 5 + c] * xv[i] + b[j * 5 + c];
      std::sort(v, v + 3);
      if (v[2] - v[1] >= 0.1) break;
      xv[i] += 0.137f;
    }
    int best = 0;
    for (int j = 1; j < 3; ++j)
      if (a[j * 5 + c] * xv[i] + b[j * 5 + c] > a[best * 5 + c] * xv[i] + b[best * 5 + c]) best = j;
    ++winners[best];
  }
  for (int j = 0; j < 3; ++j) EXPECT_GT(winners[j], 5) << "piece " << j << " never wins";
  for (const memory::desc& layout : test_layouts(kShape)) {
    const auto m = make_module("maxout(k=3)", 5);
    set_values(parameter(*m, "a"), a);
    set_values(parameter(*m, "b"), b);
    EXPECT_EQ(check_module_gradients(*m, input_in(xv, layout)), 0) << describe(layout);
  }
}

TEST(ChannelLayout, ReadsSampleBlockSpatialAndLaneStridesFromTheDescriptor) {
  using tag = memory::format_tag;
  const auto layout_of = [](tag format) {
    return sugar::ops::channel_layout(memory::desc(kShape, memory::data_type::f32, format));
  };
  const auto nchw = layout_of(tag::nchw);
  ASSERT_TRUE(nchw.has_value());
  EXPECT_EQ((std::vector<int64_t>{nchw->block, nchw->channel_blocks, nchw->spatial, nchw->sample_stride,
                                  nchw->block_stride, nchw->spatial_stride}),
            (std::vector<int64_t>{1, 5, 9, 45, 9, 1}));
  const auto nhwc = layout_of(tag::nhwc);
  ASSERT_TRUE(nhwc.has_value());
  EXPECT_EQ((std::vector<int64_t>{nhwc->block, nhwc->channel_blocks, nhwc->sample_stride, nhwc->block_stride,
                                  nhwc->spatial_stride}),
            (std::vector<int64_t>{1, 5, 45, 1, 5}));
  const auto blocked = layout_of(tag::nChw16c);
  ASSERT_TRUE(blocked.has_value());
  EXPECT_EQ((std::vector<int64_t>{blocked->block, blocked->channel_blocks, blocked->padded_channels(),
                                  blocked->sample_stride, blocked->block_stride, blocked->spatial_stride}),
            (std::vector<int64_t>{16, 1, 16, 144, 144, 16}));
  EXPECT_TRUE(blocked->has_padding());
  EXPECT_FALSE(layout_of(tag::NChw16n16c).has_value());  // blocked on the batch: goes through a plain copy
  EXPECT_FALSE(sugar::ops::channel_layout(plain_desc({7})).has_value());  // no channel dimension
}

TEST(LearnableActivations, ChannelsLastEightLaneBlocksAndUnusualLayoutsWork) {
  // nhwc and nChw8c are iterated in place; NChw16n16c (blocked on the batch too) goes through a plain
  // copy. Outputs and gradients keep the input's layout either way.
  using tag = memory::format_tag;
  for (tag format : {tag::nhwc, tag::nChw8c, tag::NChw16n16c}) {
    const memory::desc layout(kShape, memory::data_type::f32, format);
    const auto m = make_module("acon_c", 5);
    const std::vector<float> p1{1.2f, 0.5f, 2.0f, -1.0f, 1.0f}, p2{0.1f, -0.3f, 0.5f, 0.2f, 0.0f};
    set_values(parameter(*m, "p1"), p1);
    set_values(parameter(*m, "p2"), p2);
    const std::vector<float> xv = random_values(2 * 5 * 9, 40, -2, 2);
    const Tensor x = input_in(xv, layout);
    const Tensor y = m->forward(x);
    EXPECT_EQ(y.desc(), layout);
    const std::vector<float> yv = y.to_vector();
    for (size_t i = 0; i < xv.size(); ++i) {
      const size_t c = (i / 9) % 5;
      EXPECT_NEAR(yv[i], acon_reference(xv[i], p1[c], p2[c], 1.0), 1e-5) << i;
    }
    autograd::clear_tape();
    EXPECT_EQ(check_module_gradients(*m, x), 0) << static_cast<int>(format);
    EXPECT_EQ(x.grad().desc(), layout);
  }
}

// ---- threads --------------------------------------------------------------------------------------

TEST(LearnableActivations, LargeInputsGiveTheSameResultsWithOneAndTwoThreads) {
  // 4 x 21 x 20 x 20 in nChw16c (32 lanes per pixel) is above the size where the loops go parallel.
  const Shape shape{4, 21, 20, 20};
  const std::vector<float> xv = away_from_zero(random_values(4 * 21 * 400, 30, -2, 2));
  const int threads_before = num_threads();
  for (const char* spec : {"prelu", "acon_c", "maxout(k=3)"}) {
    std::vector<std::vector<float>> outputs, grads;
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      const auto m = make_module(spec, 21);
      for (const auto& [name, p] : m->named_parameters()) {
        std::vector<float> v = random_values(p.numel(), 31, 0.2f, 1.5f);
        set_values(p, v);
      }
      const Tensor x = input_in(xv, testkit::blocked16(shape));
      const Tensor y = m->forward(x);
      autograd::backward(y, Tensor::from_vector(shape, random_values(x.numel(), 32, -1, 1)).to_desc(y.desc()));
      outputs.push_back(y.to_vector());
      std::vector<float> g = x.grad().to_vector();
      for (const auto& [name, p] : m->named_parameters()) {
        const std::vector<float> pg = p.grad().to_vector();
        g.insert(g.end(), pg.begin(), pg.end());
      }
      grads.push_back(g);
    }
    EXPECT_EQ(outputs[0], outputs[1]) << spec;
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t i = 0; i < grads[0].size(); ++i)
      EXPECT_NEAR(grads[0][i], grads[1][i], 1e-5 * (1 + std::abs(grads[0][i]))) << spec << " " << i;
    // The parallel forward still matches the closed form: prelu with slope a_c, spot-checked.
    if (std::string(spec) == "prelu")
      for (size_t i = 0; i < xv.size(); i += 997) {
        const float a = random_values(21, 31, 0.2f, 1.5f)[(i / 400) % 21];
        EXPECT_EQ(outputs[1][i], xv[i] > 0 ? xv[i] : a * xv[i]) << i;
      }
  }
  set_num_threads(threads_before);
}

// ---- bad input ------------------------------------------------------------------------------------

TEST(LearnableActivations, WrongChannelCountIsAnErrorNamingTheSiteAndShape) {
  const Site site = make_site("prelu", 5);
  try {
    site.act->forward(Tensor::zeros({2, 4, 3, 3}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer1.0.act1 (PReLU): expected input [N, 5, ...], got [2, 4, 3, 3]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_module("frelu", 5)->forward(Tensor::zeros({2, 5})), Error);  // needs H and W
  EXPECT_THROW(make_module("meta_acon_c", 5)->forward(Tensor::zeros({2, 5, 3})), Error);
  EXPECT_THROW(learnable::prelu(Tensor::zeros({2, 5, 3, 3}), Tensor::zeros({4})), Error);
  EXPECT_THROW(learnable::acon_c(Tensor::zeros({2, 5, 3, 3}), Tensor::zeros({1, 5, 1, 1}), Tensor::zeros({1, 5, 1, 1}),
                                 Tensor::zeros({3, 5, 1, 1})),
               Error);
  EXPECT_THROW(learnable::maxout(Tensor::zeros({2, 5, 3, 3}), Tensor::zeros({2, 5}), Tensor::zeros({3, 5})), Error);
  EXPECT_THROW(learnable::funnel_max(Tensor::zeros({2, 5, 3, 3}), Tensor::zeros({2, 5, 3, 2})), Error);
  EXPECT_THROW(nn::PReLU(ActivationSpec::parse("acon_c"), 5), Error);  // spec of another row
}
