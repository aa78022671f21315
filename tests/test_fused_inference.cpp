// Evaluation-mode conv -> batch norm -> activation fusion (nn/fused_inference.hpp): the folded
// convolution against a double-precision closed form, fused against unfused for every kind of
// activation, refolding after the parameters or running statistics change, the cases that must not
// fuse (gradients, observers), ops::conv2d_inference's refusal to record, and whole models.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/random.hpp"

using namespace sugar;

namespace {

// Restores the fusion switch at the end of a test.
struct FusionSwitch {
  bool previous = nn::inference_fusion_enabled();
  ~FusionSwitch() { nn::set_inference_fusion(previous); }
};

std::vector<float> normal_values(int64_t count, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  const RandomStream stream(seed, "fused_inference_test");
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    values[static_cast<size_t>(i)] = static_cast<float>(shift + scale * stream.normal(static_cast<uint64_t>(i)));
  return values;
}

// Writes values into a parameter or buffer in place, as an optimizer or a checkpoint load would.
void write(const Tensor& t, const std::vector<float>& values) {
  ASSERT_EQ(static_cast<int64_t>(values.size()), t.numel());
  std::copy(values.begin(), values.end(), t.data<float>());
  t.bump_version();
}

// A conv -> batch norm -> activation triple with non-trivial weights and running statistics.
struct Triple {
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::ActivationModule> act;

  Triple(int64_t in, int64_t out, int64_t kernel, bool bias, const std::string& activation) {
    conv = std::make_shared<nn::Conv2d>(in, out, kernel, 1, kernel / 2, 1, 1, bias);
    bn = std::make_shared<nn::BatchNorm2d>(out);
    act = nn::make_activation(activations::ActivationSpec::parse(activation), out);
    for (nn::Module* m : std::initializer_list<nn::Module*>{conv.get(), bn.get(), act.get()}) nn::initialize(*m, 1);
    write(conv->weight(), normal_values(conv->weight().numel(), 2, 0.3));
    if (bias) write(conv->bias(), normal_values(out, 3, 0.5));
    write(bn->weight(), normal_values(out, 4, 0.4, 1.0));
    write(bn->bias(), normal_values(out, 5, 0.3));
    write(bn->running_mean(), normal_values(out, 6, 0.5));
    std::vector<float> var = normal_values(out, 7, 0.3, 1.0);
    for (float& v : var) v = std::abs(v) + 0.05f;
    write(bn->running_var(), var);
    eval();
  }
  void eval() {
    conv->eval();
    bn->eval();
    act->eval();
  }
  Tensor run(const Tensor& x) { return nn::conv_bn_activation(*conv, bn.get(), act.get(), x); }
  Tensor run_unfused(const Tensor& x) {
    FusionSwitch restore;
    nn::set_inference_fusion(false);
    return run(x);
  }
};

// dL/dy = 1 everywhere (L = the sum of y), in y's own layout.
Tensor ones_like(const Tensor& y) {
  Tensor ones = Tensor::from_desc(y.desc());
  ones.fill_(1.0f);
  return ones;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// Fused and unfused outputs agree to rounding: relative to the output's largest magnitude.
void expect_close(const Tensor& fused, const Tensor& unfused, double relative, const std::string& what) {
  ASSERT_EQ(fused.shape(), unfused.shape()) << what;
  const std::vector<float> a = fused.to_vector(), b = unfused.to_vector();
  const double tolerance = relative * std::max(1.0, max_abs(b));
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  EXPECT_LE(worst, tolerance) << what;
}

}  // namespace

TEST(FusedInference, FoldedConvolutionMatchesClosedForm) {
  // 1x1 convolution with bias, so every output is a short sum computed here in double.
  Triple t(3, 5, 1, /*bias=*/true, "relu");
  const Shape shape{2, 3, 4, 4};
  const Tensor x = Tensor::from_vector(shape, normal_values(2 * 3 * 16, 8));
  autograd::NoGradGuard no_grad;
  const std::vector<float> y = t.run(x).to_vector();

  const std::vector<float> xs = x.to_vector(), w = t.conv->weight().to_vector(), b = t.conv->bias().to_vector();
  const std::vector<float> gamma = t.bn->weight().to_vector(), beta = t.bn->bias().to_vector();
  const std::vector<float> mean = t.bn->running_mean().to_vector(), var = t.bn->running_var().to_vector();
  int negatives_clamped = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t o = 0; o < 5; ++o)
      for (int64_t p = 0; p < 16; ++p) {
        double conv = b[o];
        for (int64_t c = 0; c < 3; ++c) conv += static_cast<double>(w[o * 3 + c]) * xs[(n * 3 + c) * 16 + p];
        const double normalised = (conv - mean[o]) / std::sqrt(var[o] + 1e-5) * gamma[o] + beta[o];
        negatives_clamped += normalised < 0;
        EXPECT_NEAR(y[(n * 5 + o) * 16 + p], std::max(0.0, normalised), 1e-5) << "n " << n << " o " << o << " p " << p;
      }
  EXPECT_GT(negatives_clamped, 20);  // the ReLU post-op really clamped something
}

TEST(FusedInference, FusedEqualsUnfusedForEveryKindOfActivation) {
  // 20 channels: a 16-lane block and a partly padded one.
  const Tensor x = Tensor::from_vector({2, 6, 9, 9}, normal_values(2 * 6 * 81, 9));
  autograd::NoGradGuard no_grad;
  for (const std::string activation :
       {"relu", "leaky_relu(negative_slope=0.1)", "elu", "gelu", "gelu(approximate=tanh)", "silu", "mish", "rrelu",
        "sugar(surrogate=bsilu)", "sugar(surrogate=nelu, alpha=0.1)", "bsilu", "selu", "prelu"}) {
    for (const bool bias : {false, true}) {
      Triple t(6, 20, 3, bias, activation);
      expect_close(t.run(x), t.run_unfused(x), 2e-5, activation + (bias ? " with bias" : " without bias"));
    }
  }
}

TEST(FusedInference, WinogradConvolutionsFuseToo) {
  const Tensor x = Tensor::from_vector({2, 32, 12, 12}, normal_values(2 * 32 * 144, 10));
  autograd::NoGradGuard no_grad;
  Triple t(32, 32, 3, false, "relu");
  t.conv->set_algorithm_policy(ops::ConvAlgoPolicy::winograd);
  const Tensor fused = t.run(x);
  const Tensor unfused = t.run_unfused(x);
  ASSERT_TRUE(t.conv->algorithm_choice().has_value());
  // The choice is recorded under the layer's own key (no folded bias), as in training.
  EXPECT_NE(t.conv->algorithm_choice()->layer.find("nobias"), std::string::npos) << t.conv->algorithm_choice()->layer;
  expect_close(fused, unfused, 1e-4, "winograd");  // Winograd's transforms round more than direct
}

TEST(FusedInference, RefoldsWhenWeightsOrStatisticsChange) {
  const Tensor x = Tensor::from_vector({4, 4, 6, 6}, normal_values(4 * 4 * 36, 11));
  Triple t(4, 8, 3, true, "relu");
  Tensor first;
  {
    autograd::NoGradGuard no_grad;
    first = t.run(x);
  }
  // One training-mode batch-norm step moves the running statistics in place.
  t.bn->train();
  static_cast<void>(t.bn->forward(t.conv->forward(x)));
  t.eval();
  autograd::NoGradGuard no_grad;
  const Tensor after_statistics = t.run(x);
  expect_close(after_statistics, t.run_unfused(x), 2e-5, "after a running-statistics update");
  EXPECT_GT(std::abs(after_statistics.to_vector()[0] - first.to_vector()[0]) +
                std::abs(after_statistics.to_vector()[100] - first.to_vector()[100]),
            1e-4);

  // An optimizer-style in-place write of the convolution's weight.
  std::vector<float> w = t.conv->weight().to_vector();
  for (float& v : w) v *= -0.5f;
  write(t.conv->weight(), w);
  expect_close(t.run(x), t.run_unfused(x), 2e-5, "after a weight update");
}

// Records the inputs an activation site is given.
class RecordingObserver : public nn::ActivationObserver {
 public:
  Tensor observe_input(const nn::ActivationModule&, const Tensor& x) override {
    seen.push_back(x.to_vector());
    return x;
  }
  std::vector<std::vector<float>> seen;
};

TEST(FusedInference, ObservedActivationStillSeesThePreActivation) {
  const Tensor x = Tensor::from_vector({2, 4, 5, 5}, normal_values(2 * 4 * 25, 12));
  Triple t(4, 6, 3, false, "relu");
  RecordingObserver observer;
  t.act->set_observer(&observer);
  autograd::NoGradGuard no_grad;
  const Tensor fused = t.run(x);
  const Tensor unfused = t.run_unfused(x);
  ASSERT_EQ(observer.seen.size(), 2u);  // the activation ran by itself both times
  const std::vector<float>& folded_pre = observer.seen[0];
  const std::vector<float>& plain_pre = observer.seen[1];
  ASSERT_EQ(folded_pre.size(), plain_pre.size());
  int negatives = 0;
  for (size_t i = 0; i < plain_pre.size(); ++i) {
    EXPECT_NEAR(folded_pre[i], plain_pre[i], 2e-5 * std::max(1.0, max_abs(plain_pre)));
    negatives += plain_pre[i] < 0;
  }
  EXPECT_GT(negatives, 0);  // a real pre-activation, not the ReLU's output
  expect_close(fused, unfused, 2e-5, "observed");
  t.act->set_observer(nullptr);
}

TEST(FusedInference, GradientsInEvaluationModeTakeTheUnfusedPath) {
  // Evaluation mode with grad mode on (a saliency map): the backward must exist and be exact.
  Tensor x = Tensor::from_vector({2, 3, 5, 5}, normal_values(2 * 3 * 25, 13));
  x.set_requires_grad(true);
  Triple t(3, 4, 3, false, "relu");
  const Tensor y = t.run(x);
  ASSERT_TRUE(y.requires_grad());
  autograd::backward(y, ones_like(y));
  const std::vector<float> fused_path_grad = x.grad().to_vector();

  Tensor x2 = Tensor::from_vector({2, 3, 5, 5}, normal_values(2 * 3 * 25, 13));
  x2.set_requires_grad(true);
  const Tensor y2 = t.act->forward(t.bn->forward(t.conv->forward(x2)));
  autograd::backward(y2, ones_like(y2));
  EXPECT_EQ(fused_path_grad, x2.grad().to_vector());
  EXPECT_EQ(y.to_vector(), y2.to_vector());
}

TEST(FusedInference, ConvolutionInferenceRefusesToRecordGradients) {
  Tensor x = Tensor::from_vector({1, 2, 4, 4}, normal_values(32, 14));
  x.set_requires_grad(true);
  const Tensor w = Tensor::from_vector({3, 2, 3, 3}, normal_values(54, 15));
  try {
    static_cast<void>(ops::conv2d_inference(x, w, Tensor(), {}, ops::Conv2dOptions{{1, 1}, {1, 1}}));
    FAIL() << "expected sugar::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gradient is needed"), std::string::npos) << e.what();
  }
}

TEST(FusedInference, InferenceEltwiseOfActivationSpecs) {
  using activations::ActivationSpec;
  using activations::inference_eltwise;
  const auto relu = inference_eltwise(ActivationSpec::parse("relu"), false);
  ASSERT_TRUE(relu);
  EXPECT_EQ(relu->algorithm, dnnl::algorithm::eltwise_relu);
  EXPECT_EQ(relu->alpha, 0.0f);
  const auto sugar = inference_eltwise(ActivationSpec::parse("sugar(surrogate=bsilu)"), false);
  ASSERT_TRUE(sugar);  // SUGAR's forward is exactly ReLU
  EXPECT_EQ(*sugar, *relu);
  const auto leaky = inference_eltwise(ActivationSpec::parse("leaky_relu(negative_slope=0.2)"), false);
  ASSERT_TRUE(leaky);
  EXPECT_EQ(leaky->alpha, 0.2f);
  const auto rrelu = inference_eltwise(ActivationSpec::parse("rrelu(lower=0.1, upper=0.3)"), false);
  ASSERT_TRUE(rrelu);  // evaluation: the mean slope
  EXPECT_FLOAT_EQ(rrelu->alpha, 0.2f);
  EXPECT_FALSE(inference_eltwise(ActivationSpec::parse("rrelu"), true));  // training draws slopes
  EXPECT_FALSE(inference_eltwise(ActivationSpec::parse("bsilu"), false));  // Sugar's own loop
  EXPECT_FALSE(inference_eltwise(ActivationSpec::parse("prelu"), false));  // learnable module
}

TEST(FusedInference, WholeModelsGiveTheUnfusedLogits) {
  const Tensor images = Tensor::from_vector({2, 3, 32, 32}, normal_values(2 * 3 * 1024, 16));
  struct Case {
    std::string model;
    bool batch_norm;
    std::string activation;
  };
  for (const Case& c : {Case{"resnet18", true, "sugar(surrogate=bsilu)"}, Case{"vgg16", true, "relu"},
                        Case{"vgg11", false, "leaky_relu"}}) {
    models::ModelOptions options;
    options.name = c.model;
    options.activation = c.activation;
    options.batch_norm = c.batch_norm;
    std::shared_ptr<nn::Module> model = models::build_model(options);
    nn::initialize(*model, 3);
    // Running statistics away from (0, 1): a few training-mode batches.
    {
      autograd::NoGradGuard no_grad;
      for (uint64_t s = 0; s < 2; ++s)
        static_cast<void>((*model)(Tensor::from_vector({4, 3, 32, 32}, normal_values(4 * 3 * 1024, 20 + s, 1.5, 0.2))));
    }
    model->eval();
    autograd::NoGradGuard no_grad;
    const Tensor fused = (*model)(images);
    Tensor unfused;
    {
      FusionSwitch restore;
      nn::set_inference_fusion(false);
      unfused = (*model)(images);
    }
    expect_close(fused, unfused, 1e-4, c.model + " " + c.activation);
  }
}

TEST(FusedInference, BatchNormWithoutRunningStatisticsIsNotFolded) {
  // track_running_stats off: evaluation normalises with the batch's own statistics, like training.
  nn::BatchNorm2dOptions options;
  options.track_running_stats = false;
  auto conv = std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1, 1, 1, false);
  auto bn = std::make_shared<nn::BatchNorm2d>(4, options);
  nn::initialize(*conv, 1);
  nn::initialize(*bn, 1);
  conv->eval();
  bn->eval();
  const Tensor x = Tensor::from_vector({2, 3, 5, 5}, normal_values(2 * 3 * 25, 17, 2.0, 1.0));
  autograd::NoGradGuard no_grad;
  const std::vector<float> y = nn::conv_bn_activation(*conv, bn.get(), nullptr, x).to_vector();
  // Batch statistics: every channel of the output has mean 0.
  for (int64_t c = 0; c < 4; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t p = 0; p < 25; ++p) sum += y[(n * 4 + c) * 25 + p];
    EXPECT_NEAR(sum / 50.0, 0.0, 1e-5) << "channel " << c;
  }
  try {
    static_cast<void>(nn::fold_batch_norm(*conv, bn.get()));
    FAIL() << "expected sugar::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no running statistics"), std::string::npos) << e.what();
  }
}
