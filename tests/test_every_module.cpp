// One test every layer must pass (the dlib idea): kModules lists a factory for each module Sugar's models
// are built from, and each one, in every input layout it accepts, is checked the same way:
//   - the gradients autograd gives for the input and for every parameter, against central finite
//     differences of L = sum_i r_i * y_i (fixed pseudo-random r in [0.5, 1.5), so errors cannot cancel),
//     the sums taken in double;
//   - the output has the shape the factory states, and a blocked output's padding lanes are zero;
//   - in bf16: the output and every gradient against the same module run in f32, within bf16 rounding.
// A new module is covered by adding one line to kModules.
//
// Inputs are a shuffled grid of distinct values ((k + 0.5) * 0.05 - 1, so no two within 0.05 of each
// other and none within 0.025 of 0): the finite-difference step (0.01) never crosses a kink of ReLU or
// a max-pool tie, where a numerical derivative means nothing. A maxout is given pieces that cross
// midway between two grid values (its `prepare`), for the same reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/autograd.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/models/swin.hpp"
#include "sugar/models/vit.hpp"
#include "sugar/nn/squeeze_excitation.hpp"
#include "sugar/random.hpp"
#include "support/gradcheck.hpp"

namespace {
using namespace sugar;

enum class Layout { plain, blocked16, channels_last };
const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::plain: return "plain";
    case Layout::blocked16: return "nChw16c";
    case Layout::channels_last: return "nhwc";
  }
  return "?";
}

struct ModuleCase {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
  Shape input;     // [N, C, H, W] (or [N, F] for Linear, [N, T, C] for token layers)
  Shape output;    // what forward must return
  bool training = true;
  // Parameters set after initialisation, where the drawn ones would put a kink on the input grid.
  std::function<void(nn::Module&)> prepare = {};
};

// Parameters that start as constants (a norm's weight 1, bias 0) set to distinct values, so that a
// gradient routed to the wrong channel cannot pass.
void spread_parameters(nn::Module& m) {
  for (auto& [name, p] : m.named_parameters()) {
    float* v = p.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) v[i] = 0.5f + 0.25f * static_cast<float>(i) + (name == "bias" ? 0.1f : 0.0f);
    p.bump_version();
  }
}

std::shared_ptr<nn::Module> activation(const std::string& spec, int64_t channels) {
  return nn::make_activation(activations::ActivationSpec::parse(spec), channels);
}

// The modules the models are built from (models/vgg.cpp, models/resnet.cpp) and the activation
// modules a config can name. SUGAR is not here: its backward is by design not its forward's
// derivative (test_activation_sugar.cpp checks it against the surrogate's derivative).
const std::vector<ModuleCase>& module_cases() {
  static const std::vector<ModuleCase> cases{
      {"conv3x3_bias", [] { return std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1); }, {2, 3, 5, 5}, {2, 4, 5, 5}},
      {"conv3x3_stride2_nobias", [] { return std::make_shared<nn::Conv2d>(3, 4, 3, 2, 1, 1, 1, false); },
       {2, 3, 5, 5}, {2, 4, 3, 3}},
      {"conv1x1_grouped", [] { return std::make_shared<nn::Conv2d>(4, 4, 1, 1, 0, 1, 2, true); }, {2, 4, 3, 3},
       {2, 4, 3, 3}},
      {"batch_norm_train", [] { return std::make_shared<nn::BatchNorm2d>(3); }, {3, 3, 3, 3}, {3, 3, 3, 3}},
      {"batch_norm_eval", [] { return std::make_shared<nn::BatchNorm2d>(3); }, {2, 3, 3, 3}, {2, 3, 3, 3}, false},
      {"linear", [] { return std::make_shared<nn::Linear>(6, 4); }, {3, 6}, {3, 4}},
      {"linear_over_map", [] { return std::make_shared<nn::Linear>(4, 6); }, {2, 4, 3, 3}, {2, 6, 3, 3}},
      {"layer_norm_tokens", [] { return std::make_shared<nn::LayerNorm>(5); }, {2, 3, 5}, {2, 3, 5}, true,
       [](nn::Module& m) { spread_parameters(m); }},
      {"layer_norm2d", [] { return std::make_shared<nn::LayerNorm2d>(4); }, {2, 4, 3, 3}, {2, 4, 3, 3}, true,
       [](nn::Module& m) { spread_parameters(m); }},
      {"max_pool", [] { return std::make_shared<nn::MaxPool2d>(2); }, {2, 3, 4, 4}, {2, 3, 2, 2}},
      {"avg_pool", [] { return std::make_shared<nn::AvgPool2d>(2); }, {2, 3, 4, 4}, {2, 3, 2, 2}},
      {"adaptive_avg_pool", [] { return std::make_shared<nn::AdaptiveAvgPool2d>(1); }, {2, 3, 3, 3}, {2, 3, 1, 1}},
      {"squeeze_excitation",
       [] {
         return std::make_shared<nn::SqueezeExcitation>(4, 2, activations::ActivationSpec::parse("relu"),
                                                        activations::ActivationSpec::parse("hardsigmoid"));
       },
       {2, 4, 3, 3}, {2, 4, 3, 3}},
      {"multihead_self_attention", [] { return std::make_shared<models::MultiheadSelfAttention>(4, 2); }, {2, 3, 4},
       {2, 3, 4}},
      {"vit_encoder_block",
       [] {
         models::ViTOptions o;
         o.width = 4, o.heads = 2, o.mlp = 6;
         o.activation = activations::ActivationSpec::parse("gelu");
         return std::make_shared<models::EncoderBlock>(o);
       },
       {2, 3, 4}, {2, 3, 4}},  // drawn weights: spread_parameters' large ones would saturate the softmax
      // Swin's parts on [N, H, W, C] tokens: a 4x4 map in 2x2 windows shifted by 1 (the mask), a 3x3 map
      // padded to 4x4 windows, and the 2x2 merging.
      {"shifted_window_attention", [] { return std::make_shared<models::ShiftedWindowAttention>(4, 2, 2, 1); },
       {2, 4, 4, 4}, {2, 4, 4, 4}},
      {"window_attention_padded", [] { return std::make_shared<models::ShiftedWindowAttention>(4, 2, 4, 2); },
       {1, 3, 3, 4}, {1, 3, 3, 4}},
      {"patch_merging", [] { return std::make_shared<models::PatchMerging>(3); }, {2, 4, 4, 3}, {2, 2, 2, 6}},
      {"swin_block",
       [] {
         return std::make_shared<models::SwinTransformerBlock>(4, 2, 2, 1, 0.0f, activations::ActivationSpec::parse("gelu"));
       },
       {2, 4, 4, 4}, {2, 4, 4, 4}},
      {"relu", [] { return activation("relu", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}},
      {"elu", [] { return activation("elu", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}},
      {"gelu", [] { return activation("gelu", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}},
      {"prelu", [] { return activation("prelu", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}},
      {"acon_c", [] { return activation("acon_c", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}},
      {"meta_acon_c", [] { return activation("meta_acon_c", 4); }, {2, 4, 3, 3}, {2, 4, 3, 3}},
      {"frelu", [] { return activation("frelu", 3); }, {2, 3, 3, 3}, {2, 3, 3, 3}, true,
       [](nn::Module& m) {
         // max(x, T(x)) switches wherever T(x) meets x, which a step of T's weights moves anywhere. Its
         // batch norm's shift keeps the funnel T (batch-normalised: within about +-3 of the shift) above
         // every input in channels 0 and 2 and below them in channel 1, so both branches carry gradient
         // and no step crosses a switch.
         for (auto& [name, p] : m.named_parameters()) {
           if (name != "bn.bias") continue;
           float* shift = p.data<float>();
           shift[0] = 6.0f, shift[1] = -6.0f, shift[2] = 6.0f;
           p.bump_version();
         }
       }},
      {"maxout", [] { return activation("maxout(k=2)", 4); }, {2, 4, 3, 3}, {2, 4, 3, 3}, true,
       [](nn::Module& m) {
         // Pieces x and -x/2 in every channel: they cross at 0, midway between the inputs +-0.025, and
         // a step of b moves the crossing by at most 0.01 / 1.5.
         for (auto& [name, p] : m.named_parameters()) {
           float* v = p.data<float>();
           for (int64_t c = 0; c < 4; ++c) {
             v[c] = name == "a" ? 1.0f : 0.0f;
             v[4 + c] = name == "a" ? -0.5f : 0.0f;
           }
           p.bump_version();
         }
       }},
  };
  return cases;
}

memory::desc layout_desc(const Shape& shape, Layout layout, DType dtype) {
  const auto type = dtype == DType::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  if (shape.size() != 4 || layout == Layout::plain) return plain_desc(shape, dtype);
  return memory::desc(shape, type, layout == Layout::blocked16 ? memory::format_tag::nChw16c : memory::format_tag::nhwc);
}

// The shuffled grid of the file comment, deterministic in `seed`.
std::vector<float> distinct_values(int64_t count, uint64_t seed) {
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) values[static_cast<size_t>(k)] = static_cast<float>((k + 0.5) * 0.05 - 1.0);
  RandomStream rng(seed, "every-module");
  for (int64_t i = count - 1; i > 0; --i)  // Fisher-Yates with the counter-based stream
    std::swap(values[static_cast<size_t>(i)],
              values[static_cast<size_t>(std::min<int64_t>(i, static_cast<int64_t>(rng.uniform(i) * (i + 1))))]);
  return values;
}

using testkit::loss_weights;
using testkit::weighted_sum;

struct Built {
  std::shared_ptr<nn::Module> module;
  Tensor input;
};

// The module, initialised (seed 3), with running statistics made non-trivial for evaluation, and its
// input in `layout` and `dtype`.
Built build(const ModuleCase& c, Layout layout, DType dtype) {
  Built b{c.make(), Tensor()};
  nn::initialize(*b.module, 3);
  if (c.prepare) c.prepare(*b.module);
  for (auto& [name, buffer] : b.module->named_buffers()) {
    if (name.find("running_var") != std::string::npos) buffer.data<float>()[0] = 2.0f;
    if (name.find("running_mean") != std::string::npos) buffer.data<float>()[0] = 0.3f;
    buffer.bump_version();
  }
  b.module->train(c.training);
  int64_t count = 1;
  for (int64_t d : c.input) count *= d;
  const Tensor plain = Tensor::from_vector(c.input, distinct_values(count, 5));
  b.input = plain.to_desc(layout_desc(c.input, layout, DType::f32)).to_dtype(dtype);
  if (b.input.same(plain)) b.input = plain.clone();
  b.input.set_requires_grad(true);
  return b;
}

// A finite-difference forward: no tape, and a batch norm in training must not move its running
// statistics between the perturbed calls (they do not enter the training output, but keep them).
double loss_of(nn::Module& module, const Tensor& x, const std::vector<float>& r) {
  autograd::NoGradGuard no_grad;
  std::vector<std::vector<float>> saved;
  for (auto& [name, buffer] : module.named_buffers()) saved.push_back(buffer.to_vector());
  const double loss = weighted_sum(module(x), r);
  size_t i = 0;
  for (auto& [name, buffer] : module.named_buffers()) {
    std::copy(saved[i].begin(), saved[i].end(), buffer.data<float>());
    buffer.bump_version();
    ++i;
  }
  return loss;
}

constexpr double kAtol = 2e-3, kRtol = 2e-2;  // as testkit::check_gradients (support/gradcheck.hpp) says why
bool close(double a, double b) { return std::abs(a - b) <= kAtol + kRtol * std::abs(b); }

// The counts of one tensor's check.
struct Tally {
  int mismatches = 0;
};

// The analytic derivative against the central difference of L at one element.
void compare(double analytic, double plus, double minus, double h, const std::string& what, Tally* t) {
  const double central = (plus - minus) / (2 * h);
  if (close(analytic, central)) return;
  if (++t->mismatches <= 10) ADD_FAILURE() << what << ": analytic " << analytic << " vs numeric " << central;
}

void expect_clean(const Tally& t, const std::string& what) { EXPECT_EQ(t.mismatches, 0) << what; }

class EveryModule : public ::testing::TestWithParam<std::tuple<size_t, Layout>> {};

TEST_P(EveryModule, GradientsMatchFiniteDifferencesInEveryLayout) {
  const ModuleCase& c = module_cases()[std::get<0>(GetParam())];
  const Layout layout = std::get<1>(GetParam());
  if (c.input.size() != 4 && layout != Layout::plain) GTEST_SKIP() << c.name << " takes 2-d or 3-d input: plain only";
  Built b = build(c, layout, DType::f32);

  const Tensor y = (*b.module)(b.input);
  ASSERT_EQ(y.shape(), c.output) << c.name;
  EXPECT_TRUE(testkit::padding_is_zero(y)) << c.name << ": padding lanes of the output are not zero";
  const std::vector<float> r = loss_weights(y.shape(), 11);
  autograd::backward(y, Tensor::from_vector(y.shape(), r).to_desc(y.desc()));

  constexpr double h = 1e-2;
  const std::string where = c.name + " in " + std::string(layout_name(layout));
  // The input.
  ASSERT_TRUE(b.input.grad().defined()) << c.name << ": no gradient for the input";
  EXPECT_TRUE(testkit::padding_is_zero(b.input.grad())) << c.name << ": padding lanes of dx are not zero";
  const std::vector<float> dx = b.input.grad().to_vector();
  std::vector<float> values = b.input.to_vector();
  const Tensor x = Tensor::from_vector(c.input, values).to_desc(b.input.desc());
  Tally input_tally;
  for (size_t j = 0; j < values.size(); ++j) {
    const float saved = values[j];
    auto at = [&](float v) {
      values[j] = v;
      const Tensor moved = Tensor::from_vector(c.input, values).to_desc(b.input.desc());
      return loss_of(*b.module, moved, r);
    };
    const double plus = at(saved + static_cast<float>(h)), minus = at(saved - static_cast<float>(h));
    values[j] = saved;
    compare(dx[j], plus, minus, h, c.name + " dx[" + std::to_string(j) + "]", &input_tally);
  }
  expect_clean(input_tally, where + ", dx");
  // Every parameter, perturbed in place (plain f32 leaves; bump_version tells cached copies).
  for (auto& [name, p] : b.module->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << c.name << ": no gradient for " << name;
    const std::vector<float> dp = p.grad().to_vector();
    float* data = p.data<float>();
    Tally tally;
    for (int64_t j = 0; j < p.numel(); ++j) {
      const float saved = data[j];
      auto at = [&](float v) {
        data[j] = v;
        p.bump_version();
        return loss_of(*b.module, x, r);
      };
      const double plus = at(saved + static_cast<float>(h)), minus = at(saved - static_cast<float>(h));
      data[j] = saved;
      p.bump_version();
      compare(dp[static_cast<size_t>(j)], plus, minus, h, c.name + " d" + name + "[" + std::to_string(j) + "]",
              &tally);
    }
    expect_clean(tally, where + ", d" + name);
  }
}

// bf16 against f32: |bf16 - f32| <= 3e-2 * (largest |f32| of the tensor), per element. bf16 keeps 8
// significant bits (a relative step of 2^-8 = 0.4%); a few roundings of inputs, weights and outputs,
// and gradients that pass back through them, stay well inside 3%.
void expect_bf16_close(const std::vector<float>& bf16, const std::vector<float>& f32, const std::string& what) {
  ASSERT_EQ(bf16.size(), f32.size()) << what;
  float largest = 0;
  for (float v : f32) largest = std::max(largest, std::abs(v));
  int bad = 0;
  for (size_t i = 0; i < f32.size(); ++i)
    if (!(std::abs(bf16[i] - f32[i]) <= 3e-2f * largest) && ++bad <= 5)
      ADD_FAILURE() << what << "[" << i << "]: bf16 " << bf16[i] << " vs f32 " << f32[i] << " (largest " << largest << ")";
}

TEST_P(EveryModule, Bf16AgreesWithF32WithinBf16Rounding) {
  const ModuleCase& c = module_cases()[std::get<0>(GetParam())];
  const Layout layout = std::get<1>(GetParam());
  if (c.input.size() != 4 && layout != Layout::plain) GTEST_SKIP() << c.name << " takes 2-d or 3-d input: plain only";
  struct Result {
    std::vector<float> y, dx;
    std::vector<std::vector<float>> dp;
  };
  auto run = [&](DType dtype) {
    Built b = build(c, layout, dtype);
    const Tensor y = (*b.module)(b.input);
    Result out;
    out.y = y.to_vector();
    const std::vector<float> r = loss_weights(y.shape(), 11);
    autograd::backward(y, Tensor::from_vector(y.shape(), r).to_desc(y.desc()).to_dtype(y.dtype()));
    out.dx = b.input.grad().to_vector();
    for (auto& [name, p] : b.module->named_parameters()) out.dp.push_back(p.grad().to_vector());
    return out;
  };
  const Result f32 = run(DType::f32);
  const Result bf16 = run(DType::bf16);
  expect_bf16_close(bf16.y, f32.y, c.name + " y");
  expect_bf16_close(bf16.dx, f32.dx, c.name + " dx");
  ASSERT_EQ(bf16.dp.size(), f32.dp.size());
  for (size_t i = 0; i < f32.dp.size(); ++i) expect_bf16_close(bf16.dp[i], f32.dp[i], c.name + " parameter " + std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Modules, EveryModule,
                         ::testing::Combine(::testing::Range<size_t>(0, module_cases().size()),
                                            ::testing::Values(Layout::plain, Layout::blocked16, Layout::channels_last)),
                         [](const ::testing::TestParamInfo<EveryModule::ParamType>& info) {
                           std::string name = module_cases()[std::get<0>(info.param)].name + "_" +
                                              layout_name(std::get<1>(info.param));
                           std::replace_if(name.begin(), name.end(), [](char ch) { return !std::isalnum(ch); }, '_');
                           return name;
                         });

}  // namespace
