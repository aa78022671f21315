// nn: PyTorch-style names and counts, torchvision initialisation statistics, determinism of the
// init streams, train/eval behaviour of BatchNorm and Dropout, and argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/nn.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;
using namespace sugar::nn;

namespace {

std::vector<std::string> names_of(const NamedTensors& entries) {
  std::vector<std::string> out;
  for (const auto& [name, t] : entries) out.push_back(name);
  return out;
}

// conv-bn-relu with a shortcut, registered under PyTorch's names (a stand-in for BasicBlock).
class Block : public Module {
 public:
  Block() {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(4, 4, 3, 1, 1, 1, 1, false));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(4));
  }
  Tensor forward(const Tensor& x) override { return bn1->forward(conv1->forward(x)); }
  std::string type_name() const override { return "Block"; }
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
};

std::shared_ptr<Sequential> seq(std::vector<std::shared_ptr<Module>> modules) {
  return std::make_shared<Sequential>(std::move(modules));
}

std::shared_ptr<Sequential> small_model() {
  return seq({
      std::make_shared<Conv2d>(3, 8, 3, 1, 1, 1, 1, false), std::make_shared<BatchNorm2d>(8), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2), std::make_shared<AdaptiveAvgPool2d>(1), std::make_shared<Flatten>(),
      std::make_shared<Linear>(8, 10)});
}

struct Moments {
  double mean = 0, std = 0;
};
Moments moments(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / v.size();
  for (float x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / v.size())};
}

}  // namespace

TEST(Module, SequentialNamesFollowPytorch) {
  auto model = small_model();
  EXPECT_EQ(names_of(model->named_parameters()),
            (std::vector<std::string>{"0.weight", "1.weight", "1.bias", "6.weight", "6.bias"}));
  EXPECT_EQ(names_of(model->named_buffers()), (std::vector<std::string>{"1.running_mean", "1.running_var"}));
  const NamedCounters counters = model->named_counters();
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].first, "1.num_batches_tracked");
  EXPECT_EQ(*counters[0].second, 0);
  // 8*3*3*3 conv + 8 + 8 batch-norm + 10*8 + 10 linear.
  EXPECT_EQ(count_parameters(*model), 216 + 16 + 90);
  EXPECT_EQ(model->parameters().size(), 5u);
}

TEST(Module, NestedModulesGetDottedNamesAfterInitialize) {
  auto layer1 = seq({std::make_shared<Block>(), std::make_shared<Block>()});
  // A custom root with named children, as ResNet has (conv1, bn1, layer1, fc).
  class Net : public Module {
   public:
    explicit Net(std::shared_ptr<Module> layer) {
      register_module("conv1", std::make_shared<Conv2d>(3, 4, 3, 1, 1, 1, 1, false));
      register_module("bn1", std::make_shared<BatchNorm2d>(4));
      register_module("layer1", std::move(layer));
      register_module("fc", std::make_shared<Linear>(4, 10));
    }
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Net"; }
  } net(layer1);
  initialize(net, 1);
  const NamedTensors params = net.named_parameters();
  EXPECT_EQ(names_of(params),
            (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight",
                                      "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.1.conv1.weight",
                                      "layer1.1.bn1.weight", "layer1.1.bn1.bias", "fc.weight", "fc.bias"}));
  for (const auto& [name, t] : params) {
    EXPECT_EQ(t.name(), name);  // initialize() names the tensors themselves
    EXPECT_TRUE(t.requires_grad()) << name;
    EXPECT_TRUE(t.is_plain() && t.dtype() == DType::f32) << name;
  }
  for (const auto& [name, t] : net.named_buffers()) EXPECT_EQ(t.name(), name);
  std::vector<std::string> counter_names;
  for (const auto& [name, c] : net.named_counters()) counter_names.push_back(name);
  EXPECT_EQ(counter_names, (std::vector<std::string>{"bn1.num_batches_tracked", "layer1.0.bn1.num_batches_tracked",
                                                     "layer1.1.bn1.num_batches_tracked"}));
  std::vector<std::string> module_paths;
  for (const auto& [path, m] : net.named_modules()) module_paths.push_back(path);
  EXPECT_EQ(module_paths, (std::vector<std::string>{"", "conv1", "bn1", "layer1", "layer1.0", "layer1.0.conv1",
                                                    "layer1.0.bn1", "layer1.1", "layer1.1.conv1", "layer1.1.bn1",
                                                    "fc"}));
  EXPECT_EQ(layer1->path(), "layer1");
}

TEST(Module, DuplicateAndMalformedNamesAreRejected) {
  class Bad : public Module {
   public:
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Bad"; }
  } m;
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_THROW(m.register_parameter("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_buffer("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_module("w", std::make_shared<ReLU>()), Error);
  EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("blocked", testkit::random_tensor_in(testkit::blocked16({1, 5, 2, 2}), 1)),
               Error);
  EXPECT_THROW(m.register_module("none", std::shared_ptr<Module>()), Error);
  try {
    m.register_parameter("w", Tensor::zeros({2}));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
}

TEST(Module, TrainAndEvalAreRecursive) {
  auto model = small_model();
  EXPECT_TRUE(model->is_training());
  model->eval();
  for (const auto& [path, m] : model->named_modules()) EXPECT_FALSE(m->is_training()) << path;
  model->train();
  for (const auto& [path, m] : model->named_modules()) EXPECT_TRUE(m->is_training()) << path;
}

TEST(Init, ConvWeightIsKaimingNormalFanOut) {
  Conv2d conv(64, 256, 3, 1, 1, 1, 1, true);
  initialize(conv, 42);
  const double expected_std = std::sqrt(2.0 / (256 * 3 * 3));  // fan_out = O * KH * KW
  const Moments m = moments(conv.weight());
  const double n = static_cast<double>(conv.weight().numel());  // 147456 draws
  // Sampling error of the std of n normals is std / sqrt(2n), of the mean std / sqrt(n); allow 5 sigma.
  EXPECT_NEAR(m.std, expected_std, 5 * expected_std / std::sqrt(2 * n));
  EXPECT_NEAR(m.mean, 0.0, 5 * expected_std / std::sqrt(n));
  EXPECT_EQ(moments(conv.bias()).std, 0.0);  // torchvision zeroes conv biases
  EXPECT_EQ(conv.bias().to_vector()[0], 0.0f);
}

// model.init: pytorch_default is torch.nn.Conv2d's own reset_parameters: weight and bias both
// U(+-1/sqrt(fan_in)), fan_in = I * KH * KW.
TEST(Init, ConvPytorchDefaultIsUniformWithinOneOverSqrtFanInBiasIncluded) {
  Conv2d conv(64, 256, 3, 1, 1, 1, 1, true);
  conv.set_init(init::ConvInit::pytorch_default);
  initialize(conv, 42);
  const double bound = 1.0 / std::sqrt(64.0 * 3 * 3);
  const std::vector<float> w = conv.weight().to_vector();
  const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
  EXPECT_GE(*lo, -bound);
  EXPECT_LE(*hi, bound);
  EXPECT_LT(*lo, -0.999 * bound);  // 147456 uniform draws reach within 0.1% of both ends
  EXPECT_GT(*hi, 0.999 * bound);
  const double uniform_std = bound / std::sqrt(3.0);
  EXPECT_NEAR(moments(conv.weight()).std, uniform_std, 2.5 * uniform_std / std::sqrt(static_cast<double>(w.size())));
  const std::vector<float> b = conv.bias().to_vector();
  EXPECT_GT(std::set<float>(b.begin(), b.end()).size(), 200u);  // drawn, not zeroed as torchvision does
  for (float x : b) EXPECT_LE(std::abs(x), bound);
  // torchvision's std for the same layer is sqrt(2 / (256*9)) against bound / sqrt(3): sqrt(6)/2 = 1.22x
  // (with as many outputs as inputs, sqrt(6) = 2.45x).
  Conv2d torchvision(64, 256, 3, 1, 1, 1, 1, true);
  initialize(torchvision, 42);
  EXPECT_NEAR(moments(torchvision.weight()).std / moments(conv.weight()).std, std::sqrt(6.0) / 2.0, 0.01);
}

TEST(Init, ConvInitNamesParseAndUnknownOnesAreUsageErrors) {
  EXPECT_EQ(init::parse_conv_init("pytorch_default"), init::ConvInit::pytorch_default);
  EXPECT_EQ(init::parse_conv_init("torchvision"), init::ConvInit::torchvision);
  EXPECT_EQ(init::conv_init_name(init::ConvInit::torchvision), "torchvision");
  try {
    init::parse_conv_init("kaiming");
    FAIL() << "an unknown init was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("expected one of pytorch_default, torchvision, trunc_normal, torchvision_mobilenet"), std::string::npos) << e.what();
  }
}

// model.init trunc_normal (ConvNeXt): Conv2d and Linear weights N(0, 0.02^2) truncated to [-2, 2] (no
// draw of std 0.02 gets there), biases 0.
TEST(Init, TruncNormalDrawsConvAndLinearWeightsWithStd002AndZeroBiases) {
  Conv2d conv(64, 256, 3, 1, 1, 1, 1, true);
  conv.set_init(init::ConvInit::trunc_normal);
  Linear linear(512, 300);
  linear.set_init(init::ConvInit::trunc_normal);
  initialize(conv, 42);
  initialize(linear, 42);
  for (const Tensor* w : {&conv.weight(), &linear.weight()}) {
    const double n = static_cast<double>(w->numel());
    const Moments m = moments(*w);
    EXPECT_NEAR(m.std, 0.02, 5 * 0.02 / std::sqrt(2 * n));
    EXPECT_NEAR(m.mean, 0.0, 5 * 0.02 / std::sqrt(n));
  }
  EXPECT_EQ(moments(conv.bias()).std, 0.0);
  EXPECT_EQ(linear.bias().to_vector(), std::vector<float>(300, 0.0f));
}

// The truncation itself, where it matters: N(0, 1) on [-0.5, 0.5] has standard deviation
// sqrt(1 - 2 a phi(a) / (2 Phi(a) - 1)) at a = 0.5, phi and Phi the normal density and distribution:
// sqrt(1 - 0.352065 / 0.382925) = 0.283831.
TEST(Init, TruncNormalStaysInItsBoundsWithTheTruncatedStd) {
  Tensor t = Tensor::zeros({200000});
  init::trunc_normal_(t, 0.0, 1.0, -0.5, 0.5, RandomStream(9, "trunc"));
  const std::vector<float> v = t.to_vector();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_GE(*lo, -0.5f);
  EXPECT_LE(*hi, 0.5f);
  const double expected_std = 0.283831;
  EXPECT_NEAR(moments(t).std, expected_std, 5 * expected_std / std::sqrt(2 * 200000.0));
  Tensor again = Tensor::zeros({200000});
  init::trunc_normal_(again, 0.0, 1.0, -0.5, 0.5, RandomStream(9, "trunc"));
  EXPECT_EQ(again.to_vector(), v) << "the draws depend only on the stream";
  EXPECT_THROW(init::trunc_normal_(t, 0.0, 1.0, 5.0, 6.0, RandomStream(9, "trunc")), Error);  // almost no mass
}

TEST(Init, GroupedConvFanOutIgnoresGroups) {
  Conv2d conv(64, 128, 3, 1, 1, 1, 4, false);
  initialize(conv, 3);
  EXPECT_EQ(conv.weight().shape(), (Shape{128, 16, 3, 3}));
  const double expected_std = std::sqrt(2.0 / (128 * 9));  // PyTorch: size(0) * receptive field
  const double n = static_cast<double>(conv.weight().numel());
  EXPECT_NEAR(moments(conv.weight()).std, expected_std, 5 * expected_std / std::sqrt(2 * n));
}

TEST(Init, LinearIsUniformWithinOneOverSqrtFanIn) {
  Linear fc(400, 250);
  initialize(fc, 42);
  const double bound = 1.0 / std::sqrt(400.0);
  const std::vector<float> w = fc.weight().to_vector();
  float lo = 1, hi = -1;
  for (float x : w) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  // 100000 uniform draws reach within 0.1% of both ends (miss probability ~e^-50).
  EXPECT_LT(lo, -0.999 * bound);
  EXPECT_GT(hi, 0.999 * bound);
  const Moments m = moments(fc.weight());
  const double uniform_std = bound / std::sqrt(3.0);
  // The sample std of n uniforms has standard error ~ 0.45 * std / sqrt(n); allow ~5 sigma.
  EXPECT_NEAR(m.std, uniform_std, 2.5 * uniform_std / std::sqrt(static_cast<double>(w.size())));
  const std::vector<float> b = fc.bias().to_vector();
  std::set<float> distinct(b.begin(), b.end());
  EXPECT_GT(distinct.size(), 200u);
  for (float x : b) EXPECT_LE(std::abs(x), bound);
}

TEST(Init, BatchNormStartsAtIdentity) {
  BatchNorm2d bn(6);
  initialize(bn, 1);
  EXPECT_EQ(bn.weight().to_vector(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(bn.bias().to_vector(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(bn.running_mean().to_vector(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(bn.running_var().to_vector(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(bn.num_batches_tracked(), 0);
}

TEST(Init, SameSeedSameWeightsDifferentSeedDifferentWeights) {
  auto a = small_model(), b = small_model(), c = small_model();
  initialize(*a, 7);
  initialize(*b, 7);
  initialize(*c, 8);
  const NamedTensors pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;
    if (pa[i].first == "0.weight" || pa[i].first.rfind("6.", 0) == 0)
      EXPECT_NE(pa[i].second.to_vector(), pc[i].second.to_vector()) << pa[i].first;
  }
  // Weights depend on the parameter's name only: the same conv as "0" in a different model is equal,
  // and two layers of identical shape under different names are not.
  Sequential other{std::make_shared<Conv2d>(3, 8, 3, 1, 1, 1, 1, false), std::make_shared<Conv2d>(8, 8, 3),
                   std::make_shared<Conv2d>(3, 8, 3, 1, 1, 1, 1, false)};
  initialize(other, 7);
  const NamedTensors po = other.named_parameters();
  EXPECT_EQ(po[0].second.to_vector(), pa[0].second.to_vector());
  EXPECT_NE(po[2].second.to_vector(), pa[0].second.to_vector());
  // Initialising again redraws the same values.
  Tensor first = pa[0].second;
  first.fill_(0.0f);
  initialize(*a, 7);
  EXPECT_EQ(pa[0].second.to_vector(), pb[0].second.to_vector());
}

TEST(BatchNorm2dLayer, TrainUsesBatchStatisticsAndUpdatesRunningOnes) {
  BatchNorm2d bn(2);
  initialize(bn, 0);
  // Channel 0 holds 1..8, channel 1 holds 10 * (1..8): batch 2, 2x2 images.
  std::vector<float> values(16);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 4; ++i) values[(n * 2 + c) * 4 + i] = (c == 0 ? 1.0f : 10.0f) * (n * 4 + i + 1);
  const Tensor x = Tensor::from_vector({2, 2, 2, 2}, values);
  const Tensor y = bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);
  // mean of 1..8 is 4.5, biased variance 5.25, unbiased 6; running = 0.9 * init + 0.1 * batch.
  const std::vector<float> rm = bn.running_mean().to_vector(), rv = bn.running_var().to_vector();
  EXPECT_NEAR(rm[0], 0.45, 1e-6);
  EXPECT_NEAR(rm[1], 4.5, 1e-5);
  EXPECT_NEAR(rv[0], 0.9 + 0.1 * 6.0, 1e-5);
  EXPECT_NEAR(rv[1], 0.9 + 0.1 * 600.0, 1e-3);
  EXPECT_NEAR(y.to_vector()[0], (1.0 - 4.5) / std::sqrt(5.25 + 1e-5), 1e-5);

  bn.eval();
  const Tensor y_eval = bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked(), 1);  // eval does not count
  EXPECT_EQ(bn.running_mean().to_vector(), rm);  // nor update
  EXPECT_NEAR(y_eval.to_vector()[0], (1.0 - 0.45) / std::sqrt(1.5 + 1e-5), 1e-5);

  bn.train();
  bn.forward(x);
  bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked(), 3);
  EXPECT_EQ(*bn.named_counters()[0].second, 3);
}

TEST(BatchNorm2dLayer, CumulativeAverageWhenMomentumIsNone) {
  BatchNorm2dOptions o;
  o.momentum = std::nullopt;
  BatchNorm2d bn(1, o);
  initialize(bn, 0);
  // Two batches with means 1 and 3: the cumulative average is 2 (momentum 1, then 1/2).
  bn.forward(Tensor::from_vector({1, 1, 1, 2}, {0.0f, 2.0f}));
  bn.forward(Tensor::from_vector({1, 1, 1, 2}, {2.0f, 4.0f}));
  EXPECT_NEAR(bn.running_mean().item(), 2.0, 1e-6);
  EXPECT_NEAR(bn.running_var().item(), 2.0, 1e-6);  // unbiased variance of each batch is 2
}

TEST(BatchNorm2dLayer, WithoutTrackingHasNoBuffersAndAlwaysUsesBatchStatistics) {
  BatchNorm2dOptions o;
  o.track_running_stats = false;
  o.affine = false;
  BatchNorm2d bn(1, o);
  initialize(bn, 0);
  EXPECT_TRUE(bn.named_parameters().empty());
  EXPECT_TRUE(bn.named_buffers().empty());
  EXPECT_TRUE(bn.named_counters().empty());
  bn.eval();
  const Tensor y = bn.forward(Tensor::from_vector({1, 1, 1, 2}, {0.0f, 2.0f}));
  EXPECT_NEAR(y.to_vector()[0], -1.0, 1e-4);
}

TEST(DropoutLayer, EachCallDrawsANewReproducibleMask) {
  auto make = [] {
    auto model = seq({std::make_shared<Dropout>(0.5f)});
    initialize(*model, 5);
    return model;
  };
  auto a = make(), b = make();
  const Tensor x = Tensor::full({4, 256}, 1.0f);
  const std::vector<float> first = a->forward(x).to_vector();
  const std::vector<float> second = a->forward(x).to_vector();
  EXPECT_NE(first, second);
  EXPECT_EQ(b->forward(x).to_vector(), first);
  int kept = 0;
  for (float v : first) {
    EXPECT_TRUE(v == 0.0f || v == 2.0f) << v;
    kept += v != 0.0f;
  }
  EXPECT_NEAR(kept, 512, 5 * 16);  // binomial(1024, 0.5): sd 16
  a->eval();
  EXPECT_EQ(a->forward(x).to_vector(), x.to_vector());
}

TEST(Layers, InvalidArgumentsAreRejected) {
  EXPECT_THROW(Conv2d(3, 8, 0), Error);
  EXPECT_THROW(Conv2d(3, 8, 3, 0), Error);
  EXPECT_THROW(Conv2d(3, 8, 3, 1, 1, 1, 2), Error);  // groups 2 does not divide 3
  EXPECT_THROW(Conv2d(0, 8, 3), Error);
  EXPECT_THROW(Linear(0, 3), Error);
  EXPECT_THROW(BatchNorm2d(0), Error);
  EXPECT_THROW(AdaptiveAvgPool2d(2), Error);
  EXPECT_THROW(MaxPool2d(2, 2, 2), Error);  // padding above half the kernel
  EXPECT_THROW(Dropout(1.0f), Error);
  EXPECT_THROW(Dropout(-0.1f), Error);
  EXPECT_THROW(Sequential()[0], Error);
}

TEST(Layers, ForwardChecksInitialisationAndInputShape) {
  Conv2d conv(3, 8, 3);
  const Tensor x = Tensor::zeros({1, 3, 5, 5});
  EXPECT_THROW(conv.forward(x), Error);  // not initialised
  auto model = seq({std::make_shared<Conv2d>(3, 8, 3)});
  initialize(*model, 0);
  EXPECT_EQ(model->forward(x).shape(), (Shape{1, 8, 3, 3}));
  try {
    model->forward(Tensor::zeros({1, 4, 5, 5}));
    FAIL() << "expected sugar::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("0 (Conv2d)"), std::string::npos) << message;
    EXPECT_NE(message.find("[1, 4, 5, 5]"), std::string::npos) << message;
  }
}

TEST(Layers, SmallModelForwardAndBackwardReachEveryParameter) {
  auto model = small_model();
  initialize(*model, 3);
  const Tensor x = testkit::random_tensor({2, 3, 8, 8}, 9);
  const Tensor y = model->forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
  autograd::backward(y);
  for (const auto& [name, p] : model->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().shape(), p.shape()) << name;
  }
  // The linear bias gradient of sum(y) is the batch size.
  EXPECT_EQ(model->named_parameters()[4].second.grad().to_vector(), std::vector<float>(10, 2.0f));
}

TEST(Layers, LinearComputesXWTransposePlusB) {
  Linear fc(3, 2);
  initialize(fc, 1);
  const std::vector<float> w = fc.weight().to_vector(), b = fc.bias().to_vector();
  const Tensor x = Tensor::from_vector({1, 3}, {1.0f, -2.0f, 0.5f});
  const std::vector<float> y = fc.forward(x).to_vector();
  for (int o = 0; o < 2; ++o)
    EXPECT_NEAR(y[o], w[o * 3] * 1.0 - 2.0 * w[o * 3 + 1] + 0.5 * w[o * 3 + 2] + b[o], 1e-6);
}
