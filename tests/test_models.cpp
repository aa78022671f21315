// models and activation sites: parameter counts and state_dict names of the PyTorch reference models
// (kuangliu/pytorch-cifar), expected lists generated here from the architectures (not from the code
// under test), activation site names, a training step's gradients, weight independence from the
// activation, the activation-module extension point, and usage errors.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/models/convnext.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/models/resnet.hpp"
#include "sugar/models/vgg.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/ops/loss.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// The largest |value| of a tensor.
double max_abs(const Tensor& t) {
  double m = 0;
  for (float x : t.to_vector()) m = std::max(m, std::abs(static_cast<double>(x)));
  return m;
}

// The standard deviation of a tensor's values (population form, in double).
double sample_std(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  double mean = 0, square = 0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (float x : v) square += (x - mean) * (x - mean);
  return std::sqrt(square / static_cast<double>(v.size()));
}

std::shared_ptr<nn::Module> build(const std::string& name, int64_t classes = 10, const std::string& activation = "relu",
                                  int64_t in_channels = 3, bool batch_norm = true) {
  models::ModelOptions options;
  options.name = name;
  options.activation = activation;
  options.num_classes = classes;
  options.in_channels = in_channels;
  options.batch_norm = batch_norm;
  return models::build_model(options);
}

// PyTorch's state_dict() keys: modules pre-order, each listing its own parameters, then its buffers
// (Sugar keeps the int64 counter apart; in every Sugar layer it is registered last, as in PyTorch).
std::vector<std::string> state_dict_names(nn::Module& root) {
  std::vector<std::string> out;
  for (const auto& [path, module] : root.named_modules()) {
    const std::string prefix = path.empty() ? "" : path + ".";
    auto own = [&](const auto& entries) {
      for (const auto& entry : entries)
        if (entry.first.find('.') == std::string::npos) out.push_back(prefix + entry.first);
    };
    own(module->named_parameters());
    own(module->named_buffers());
    own(module->named_counters());
  }
  return out;
}

std::map<std::string, Shape> parameter_shapes(const nn::Module& model) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : model.named_parameters()) shapes[name] = t.shape();
  return shapes;
}

void push_batch_norm(std::vector<std::string>& names, const std::string& prefix) {
  for (const char* entry : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
    names.push_back(prefix + "." + entry);
}

// kuangliu's ResNet: conv1, bn1, layer1..4 of BasicBlocks (conv1, bn1, conv2, bn2, shortcut when the
// shape changes), linear.
std::vector<std::string> expected_resnet_state_dict(const std::vector<int>& blocks) {
  std::vector<std::string> names{"conv1.weight"};
  push_batch_norm(names, "bn1");
  int in_planes = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int planes = 64 << stage;
    for (int b = 0; b < blocks[stage]; ++b) {
      const int stride = (b == 0 && stage > 0) ? 2 : 1;
      const std::string block = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
      names.push_back(block + ".conv1.weight");
      push_batch_norm(names, block + ".bn1");
      names.push_back(block + ".conv2.weight");
      push_batch_norm(names, block + ".bn2");
      if (stride != 1 || in_planes != planes) {
        names.push_back(block + ".shortcut.0.weight");
        push_batch_norm(names, block + ".shortcut.1");
      }
      in_planes = planes;
    }
  }
  names.push_back("linear.weight");
  names.push_back("linear.bias");
  return names;
}

std::vector<std::string> expected_resnet_sites(const std::vector<int>& blocks) {
  std::vector<std::string> sites{"act1"};
  for (int stage = 0; stage < 4; ++stage)
    for (int b = 0; b < blocks[stage]; ++b) {
      const std::string block = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
      sites.push_back(block + ".act1");
      sites.push_back(block + ".act2");
    }
  return sites;
}

// kuangliu's cfgs, 0 = 'M'.
const std::vector<int> kVgg16Cfg{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
const std::map<std::string, std::vector<int>> kVggCfgs{
    {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
    {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
    {"vgg16", kVgg16Cfg},
    {"vgg19", {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0}}};

// features = per conv: Conv2d [+ BatchNorm2d] + activation; per 'M': MaxPool2d; then the final pool.
struct VggExpectation {
  std::vector<std::string> state_dict;
  std::vector<std::string> sites;
  int64_t parameters = 0;
};
VggExpectation expected_vgg(const std::vector<int>& cfg, bool batch_norm, int64_t classes, int64_t in_channels = 3) {
  VggExpectation e;
  int index = 0;
  int64_t in = in_channels;
  for (int width : cfg) {
    if (width == 0) {
      ++index;
      continue;
    }
    const std::string conv = "features." + std::to_string(index++);
    e.state_dict.push_back(conv + ".weight");
    e.state_dict.push_back(conv + ".bias");
    e.parameters += in * width * 9 + width;
    if (batch_norm) {
      push_batch_norm(e.state_dict, "features." + std::to_string(index++));
      e.parameters += 2 * width;
    }
    e.sites.push_back("features." + std::to_string(index++));
    in = width;
  }
  e.state_dict.push_back("classifier.weight");
  e.state_dict.push_back("classifier.bias");
  e.parameters += in * classes + classes;
  return e;
}

template <class Fn>
ErrorKind kind_of_error(Fn&& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "expected sugar::Error";
  return ErrorKind::runtime;
}

}  // namespace

TEST(Models, ParameterCountsMatchPytorchReference) {
  EXPECT_EQ(nn::count_parameters(*build("resnet18", 10)), 11173962);
  EXPECT_EQ(nn::count_parameters(*build("resnet18", 100)), 11220132);
  EXPECT_EQ(nn::count_parameters(*build("resnet34", 10)), 21282122);
  EXPECT_EQ(nn::count_parameters(*build("vgg16", 10)), 14728266);
  EXPECT_EQ(nn::count_parameters(*build("vgg16", 100)), 14774436);
}

TEST(Models, VggCountsFollowTheirCfgs) {
  for (const auto& [name, cfg] : kVggCfgs) {
    EXPECT_EQ(nn::count_parameters(*build(name, 10)), expected_vgg(cfg, true, 10).parameters) << name;
    EXPECT_EQ(nn::count_parameters(*build(name, 100, "relu", 3, false)), expected_vgg(cfg, false, 100).parameters)
        << name;
  }
  // The formula agrees with the reference number, and dropping BN removes 2 * (sum of widths) = 2 * 4224.
  EXPECT_EQ(expected_vgg(kVgg16Cfg, true, 10).parameters, 14728266);
  EXPECT_EQ(expected_vgg(kVgg16Cfg, false, 10).parameters, 14728266 - 2 * 4224);
}

TEST(Models, VggWithoutBatchNormHasNoBatchNormState) {
  auto model = build("vgg16", 10, "relu", 3, false);
  const VggExpectation expected = expected_vgg(kVgg16Cfg, false, 10);
  EXPECT_EQ(state_dict_names(*model), expected.state_dict);
  EXPECT_TRUE(model->named_buffers().empty());
  EXPECT_TRUE(model->named_counters().empty());
  EXPECT_EQ(nn::activation_sites(*model), expected.sites);
  EXPECT_EQ(expected.sites.front(), "features.1");
  EXPECT_EQ(nn::count_parameters(*model), 14719818);
}

TEST(Models, FirstConvTakesTheDatasetChannels) {
  auto resnet = build("resnet18", 10, "relu", 1);
  EXPECT_EQ(parameter_shapes(*resnet)["conv1.weight"], (Shape{64, 1, 3, 3}));
  EXPECT_EQ(nn::count_parameters(*resnet), 11173962 - 64 * 2 * 9);
  auto vgg = build("vgg16", 10, "relu", 1);
  EXPECT_EQ(parameter_shapes(*vgg)["features.0.weight"], (Shape{64, 1, 3, 3}));
  EXPECT_EQ(nn::count_parameters(*vgg), expected_vgg(kVgg16Cfg, true, 10, 1).parameters);
}

TEST(Models, NamesAndShapesFollowPytorch) {
  auto resnet = build("resnet18", 10);
  std::set<std::string> names;
  for (const std::string& n : state_dict_names(*resnet)) names.insert(n);
  for (const char* n : {"conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                        "layer1.0.bn1.running_var", "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_var",
                        "linear.weight", "linear.bias"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("layer1.0.shortcut.0.weight"));  // identity shortcut: nothing to save
  std::map<std::string, Shape> shapes = parameter_shapes(*resnet);
  EXPECT_EQ(shapes["layer2.0.shortcut.0.weight"], (Shape{128, 64, 1, 1}));
  EXPECT_EQ(shapes["layer4.1.conv2.weight"], (Shape{512, 512, 3, 3}));
  EXPECT_EQ(shapes["linear.weight"], (Shape{10, 512}));
  bool counter_found = false;
  for (const auto& [name, counter] : resnet->named_counters()) counter_found |= name == "bn1.num_batches_tracked";
  EXPECT_TRUE(counter_found) << "num_batches_tracked is an int64 counter, not a float buffer";
  for (const auto& [name, buffer] : resnet->named_buffers()) EXPECT_NE(name, "bn1.num_batches_tracked");

  auto vgg = build("vgg16", 100);
  std::set<std::string> vgg_names;
  for (const std::string& n : state_dict_names(*vgg)) vgg_names.insert(n);
  for (const char* n : {"features.0.weight", "features.0.bias", "features.1.weight", "features.1.running_var",
                        "features.1.num_batches_tracked", "features.41.weight", "classifier.weight", "classifier.bias"})
    EXPECT_TRUE(vgg_names.count(n)) << n;
  shapes = parameter_shapes(*vgg);
  EXPECT_EQ(shapes["features.0.weight"], (Shape{64, 3, 3, 3}));
  EXPECT_EQ(shapes["classifier.weight"], (Shape{100, 512}));
}

TEST(Models, ResNetStateDictOrderIsPytorchs) {
  const std::vector<std::string> expected18 = expected_resnet_state_dict({2, 2, 2, 2});
  EXPECT_EQ(expected18.size(), 122u);  // len(ResNet18().state_dict())
  auto resnet18 = build("resnet18");
  EXPECT_EQ(state_dict_names(*resnet18), expected18);
  // After initialize (which assigns tensor names), the tensors carry their full names too.
  nn::initialize(*resnet18, 0);
  for (const auto& [name, t] : resnet18->named_parameters()) EXPECT_EQ(t.name(), name);
  for (const auto& [name, t] : resnet18->named_buffers()) EXPECT_EQ(t.name(), name);
  EXPECT_EQ(state_dict_names(*build("resnet34")), expected_resnet_state_dict({3, 4, 6, 3}));
}

TEST(Models, VggStateDictOrderIsPytorchs) {
  for (const auto& [name, cfg] : kVggCfgs) EXPECT_EQ(state_dict_names(*build(name)), expected_vgg(cfg, true, 10).state_dict) << name;
}

TEST(Models, ActivationSitesHaveStableNames) {
  auto resnet18 = build("resnet18");
  const std::vector<std::string> sites = nn::activation_sites(*resnet18);
  EXPECT_EQ(sites, expected_resnet_sites({2, 2, 2, 2}));
  EXPECT_EQ(sites.size(), 17u);
  EXPECT_EQ(nn::activation_sites(*build("resnet34")), expected_resnet_sites({3, 4, 6, 3}));
  const std::vector<std::string> vgg_sites = nn::activation_sites(*build("vgg16"));
  EXPECT_EQ(vgg_sites, expected_vgg(kVgg16Cfg, true, 10).sites);
  ASSERT_GE(vgg_sites.size(), 3u);
  EXPECT_EQ(vgg_sites[0], "features.2");
  EXPECT_EQ(vgg_sites[1], "features.5");
  EXPECT_EQ(vgg_sites[2], "features.9");  // after the max-pool at features.6
  EXPECT_EQ(vgg_sites.size(), 13u);
}

TEST(Models, EverySiteRunsTheConfiguredSpec) {
  const std::string text = "leaky_relu(negative_slope=0.2)";
  for (const std::string name : {"resnet18", "vgg11"}) {
    auto model = build(name, 10, text);
    for (const auto& [path, module] : model->named_modules()) {
      if (auto* site = dynamic_cast<nn::ActivationModule*>(module)) {
        EXPECT_EQ(site->spec().to_string(), "leaky_relu(negative_slope=0.2)") << path;
        EXPECT_EQ(site->type_name(), "Activation");
      }
    }
  }
}

TEST(Models, ResNet18ForwardBackwardGivesLogitsAndEveryGradient) {
  auto model = build("resnet18", 10, "sugar(surrogate=bsilu)");
  nn::initialize(*model, 1);
  model->train();
  const Tensor x = testkit::random_tensor({2, 3, 32, 32}, 11);
  const Tensor logits = model->forward(x);
  EXPECT_EQ(logits.shape(), (Shape{2, 10}));
  for (float v : logits.to_vector()) EXPECT_TRUE(std::isfinite(v));
  const Tensor loss = ops::cross_entropy(logits, {3, 7});
  autograd::backward(loss);
  for (const auto& [name, p] : model->named_parameters()) {
    const Tensor g = p.grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_EQ(g.shape(), p.shape()) << name;
    double sum_sq = 0;
    for (float v : g.to_vector()) {
      ASSERT_TRUE(std::isfinite(v)) << name;
      sum_sq += double(v) * v;
    }
    EXPECT_GT(sum_sq, 0.0) << name;
  }
  for (const auto& [name, counter] : model->named_counters()) EXPECT_EQ(*counter, 1) << name;
  EXPECT_EQ(autograd::tape_size(), 0u);
}

TEST(Models, VggForwardBackwardOnOneChannelWithoutBatchNorm) {
  auto model = build("vgg11", 10, "relu", 1, false);
  nn::initialize(*model, 2);
  const Tensor x = testkit::random_tensor({2, 1, 32, 32}, 12);
  const Tensor logits = model->forward(x);
  EXPECT_EQ(logits.shape(), (Shape{2, 10}));
  autograd::backward(ops::cross_entropy(logits, {0, 9}));
  for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  // Eval mode, no gradient: the same shape, and a wrong channel count is an error naming the model.
  model->eval();
  autograd::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(x).shape(), (Shape{2, 10}));
  std::string message;
  kind_of_error([&] { model->forward(testkit::random_tensor({2, 3, 32, 32}, 13)); }, &message);
  EXPECT_NE(message.find("VGG"), std::string::npos) << message;
}

TEST(Models, InitialWeightsDoNotDependOnTheActivation) {
  auto snapshot = [](const std::string& activation, uint64_t seed) {
    auto model = build("resnet18", 10, activation);
    nn::initialize(*model, seed);
    std::map<std::string, std::vector<float>> values;
    for (const auto& [name, t] : model->named_parameters()) values[name] = t.to_vector();
    for (const auto& [name, t] : model->named_buffers()) values[name] = t.to_vector();
    return values;
  };
  const auto relu = snapshot("relu", 5);
  EXPECT_EQ(snapshot("sugar(surrogate=bsilu)", 5), relu);
  EXPECT_EQ(snapshot("rrelu", 5), relu);
  EXPECT_NE(snapshot("relu", 6)["layer3.1.conv2.weight"], relu.at("layer3.1.conv2.weight"));
}

// ModelOptions::init reaches every convolution: under pytorch_default a conv weight is
// U(+-1/sqrt(fan_in)) (std bound/sqrt(3)); under torchvision N(0, 2/fan_out); VGG's conv biases are drawn
// under the first and zero under the second. Linear layers are PyTorch's default under both.
TEST(Models, ModelInitReachesEveryConvolution) {
  auto built = [](const std::string& name, nn::init::ConvInit init) {
    models::ModelOptions options;
    options.name = name;
    options.init = init;
    auto model = models::build_model(options);
    nn::initialize(*model, 3);
    return model;
  };
  for (const std::string name : {"vgg16", "resnet18"}) {
    EXPECT_EQ(models::ModelOptions{}.init, nn::init::ConvInit::pytorch_default);
    auto pytorch = built(name, nn::init::ConvInit::pytorch_default);
    auto torchvision = built(name, nn::init::ConvInit::torchvision);
    std::map<std::string, Tensor> other;
    for (const auto& [param, t] : torchvision->named_parameters()) other[param] = t;
    int convs = 0;
    for (const auto& [param, t] : pytorch->named_parameters()) {
      if (t.ndim() != 4) continue;
      ++convs;
      const double fan_in = static_cast<double>(t.dim(1) * t.dim(2) * t.dim(3));
      const double fan_out = static_cast<double>(t.dim(0) * t.dim(2) * t.dim(3));
      const double n = static_cast<double>(t.numel());
      const double uniform_std = 1.0 / std::sqrt(fan_in) / std::sqrt(3.0);
      const double normal_std = std::sqrt(2.0 / fan_out);
      EXPECT_NEAR(sample_std(t), uniform_std, 6 * uniform_std / std::sqrt(n)) << name << " " << param;
      EXPECT_NEAR(sample_std(other.at(param)), normal_std, 6 * normal_std / std::sqrt(n)) << name << " " << param;
    }
    EXPECT_EQ(convs, name == "vgg16" ? 13 : 20) << name;
  }
  auto first_conv_bias = [&](nn::init::ConvInit init) {
    for (const auto& [param, t] : built("vgg16", init)->named_parameters())
      if (param == "features.0.bias") return t;
    ADD_FAILURE() << "vgg16 has no features.0.bias";
    return Tensor();
  };
  EXPECT_EQ(sample_std(first_conv_bias(nn::init::ConvInit::torchvision)), 0.0);
  const Tensor drawn = first_conv_bias(nn::init::ConvInit::pytorch_default);
  EXPECT_GT(sample_std(drawn), 0.0);
  for (float x : drawn.to_vector()) EXPECT_LE(std::abs(x), 1.0 / std::sqrt(3.0 * 3 * 3));  // fan_in 27
}

TEST(Models, BadOptionsAreUsageErrorsNamingTheProblem) {
  std::string message;
  EXPECT_EQ(kind_of_error([] { build("resnet19"); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("unknown model 'resnet19'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean resnet18"), std::string::npos) << message;
  EXPECT_NE(message.find("vgg19"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { build("VGG16"); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("did you mean vgg16"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { build("resnet18", 0); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("num_classes"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { build("vgg16", 10, "relu", 0); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("in_channels"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { build("resnet18", 10, "relu", 3, false); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("batch_norm"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { build("resnet18", 10, "rleu"); }), ErrorKind::usage);
  models::ModelOptions small;
  small.name = "vgg16";
  small.image_size = 28;
  EXPECT_EQ(kind_of_error([&] { models::build_model(small); }, &message), ErrorKind::usage);
  EXPECT_NE(message.find("at least 32x32"), std::string::npos) << message;
  small.name = "resnet18";  // ResNets take any size (adaptive average pool)
  EXPECT_NO_THROW(models::build_model(small));
  EXPECT_EQ(models::model_names(),
            (std::vector<std::string>{"resnet18", "resnet34", "vgg11", "vgg13", "vgg16", "vgg19", "convnext_atto",
                                     "convnext_femto", "convnext_tiny", "mobilenetv3_small",
                                     "mobilenetv3_large", "vit_tiny", "vit_mini", "swin_tiny", "swin_mini"}));
}

// ---- the activation site module ------------------------------------------------------------------

TEST(ActivationSite, AppliesItsSpecForwardAndBackward) {
  nn::Activation act("leaky_relu(negative_slope=0.1)");
  EXPECT_EQ(act.spec().name(), "leaky_relu");
  EXPECT_EQ(nn::count_parameters(act), 0);
  Tensor x = Tensor::from_vector({4}, {-2.0f, -0.5f, 0.0f, 1.5f});
  x.set_requires_grad(true);
  const Tensor y = act.forward(x);
  const std::vector<float> values = y.to_vector();
  const std::vector<float> expected{-0.2f, -0.05f, 0.0f, 1.5f};
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(values[i], expected[i]);
  autograd::backward(y, Tensor::from_vector({4}, {1.0f, 2.0f, 3.0f, 4.0f}));
  const std::vector<float> grad = x.grad().to_vector();
  const std::vector<float> expected_grad{0.1f, 0.2f, 0.3f, 4.0f};  // PyTorch: slope at 0
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(grad[i], expected_grad[i]);
}

TEST(ActivationSite, RandomRowDrawsPerSeedPathAndCall) {
  nn::Sequential model{std::make_shared<nn::Activation>("rrelu(lower=0.1, upper=0.3)"),
                       std::make_shared<nn::Activation>("rrelu(lower=0.1, upper=0.3)")};
  // Not seeded: training draws are refused, evaluation needs no seed.
  const Tensor x = Tensor::full({2, 3, 4, 4}, -1.0f);
  EXPECT_THROW(model[0].forward(x), Error);
  model.eval();
  for (float v : model[0].forward(x).to_vector()) EXPECT_FLOAT_EQ(v, -0.2f);  // mean slope

  nn::initialize(model, 9);
  model.train();
  const std::vector<float> first = model[0].forward(x).to_vector();
  const RandomStream stream(9, "activation/0/0");
  for (size_t i = 0; i < first.size(); ++i) EXPECT_FLOAT_EQ(first[i], -(0.1f + 0.2f * stream.uniform(i))) << i;
  EXPECT_NE(model[0].forward(x).to_vector(), first);  // the next call draws fresh slopes
  EXPECT_NE(model[1].forward(x).to_vector(), first);  // another site, other slopes
  EXPECT_EQ(dynamic_cast<nn::Activation&>(model[0]).calls(), 2u);
  nn::initialize(model, 9);  // re-seeding restarts the call count: the same draws again
  EXPECT_EQ(model[0].forward(x).to_vector(), first);
}

namespace {

// A stand-in for a learnable activation (the real ones come with their own files): one weight per
// channel, registered through the extension point.
class ChannelScaleActivation : public nn::ActivationModule {
 public:
  ChannelScaleActivation(activations::ActivationSpec spec, int64_t channels) : spec_(std::move(spec)) {
    weight_ = register_parameter("weight", Tensor::zeros({channels}));
  }
  Tensor activate(const Tensor& x) override { return activations::apply_activation(spec_, x); }
  std::string type_name() const override { return "ChannelScale"; }
  void reset_parameters(uint64_t) override { nn::init::constant_(weight_, static_cast<float>(spec_.number("init"))); }
  const activations::ActivationSpec& spec() const override { return spec_; }

 private:
  activations::ActivationSpec spec_;
  Tensor weight_;
};

activations::ActivationRow test_module_row(const std::string& name) {
  activations::ActivationRow row;
  row.name = name;
  row.kind = activations::ActivationKind::module;
  row.learnable = true;
  row.params = {activations::ActivationParam::number("init", 0.25)};
  row.apply = [](const activations::ActivationSpec&, const Tensor& x, bool, const activations::RandomSource&) {
    return activations::apply_activation(activations::ActivationSpec::parse("relu"), x);
  };
  return row;
}

// Registered once per process, whatever tests run.
void register_test_rows() {
  static const bool registered = [] {
    activations::register_activation(test_module_row("test_channel_scale"));
    activations::register_activation(test_module_row("test_unbuilt_module"));
    nn::register_activation_module("test_channel_scale", [](const activations::ActivationSpec& spec, int64_t channels) {
      return std::make_shared<ChannelScaleActivation>(spec, channels);
    });
    return true;
  }();
  (void)registered;
}

}  // namespace

TEST(ActivationSite, ModuleRowsAreBuiltByTheirRegisteredFactory) {
  register_test_rows();
  auto model = build("resnet18", 10, "test_channel_scale(init=0.5)");
  const std::map<std::string, Shape> shapes = parameter_shapes(*model);
  EXPECT_EQ(shapes.at("act1.weight"), (Shape{64}));
  EXPECT_EQ(shapes.at("layer1.0.act2.weight"), (Shape{64}));
  EXPECT_EQ(shapes.at("layer2.0.act1.weight"), (Shape{128}));
  EXPECT_EQ(shapes.at("layer4.1.act2.weight"), (Shape{512}));
  // One weight per channel at each of the 17 sites: 64 + 2*2*(64 + 128 + 256 + 512).
  EXPECT_EQ(nn::count_parameters(*model), 11173962 + 64 + 4 * (64 + 128 + 256 + 512));
  EXPECT_EQ(nn::activation_sites(*model), expected_resnet_sites({2, 2, 2, 2}));

  nn::initialize(*model, 5);
  const nn::NamedTensors named = model->named_parameters();
  const std::map<std::string, Tensor> params(named.begin(), named.end());
  for (float v : params.at("layer3.0.act1.weight").to_vector()) EXPECT_EQ(v, 0.5f);
  // The model's other weights are those of the ReLU model with the same seed.
  auto relu = build("resnet18");
  nn::initialize(*relu, 5);
  for (const auto& [name, t] : relu->named_parameters()) EXPECT_EQ(params.at(name).to_vector(), t.to_vector()) << name;

  std::string message;
  EXPECT_EQ(kind_of_error([] { nn::register_activation_module("test_channel_scale", [](const auto& s, int64_t c) {
              return std::make_shared<ChannelScaleActivation>(s, c);
            }); }, &message),
            ErrorKind::usage);
  EXPECT_NE(message.find("already has"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { nn::register_activation_module("relu", [](const auto& s, int64_t c) {
              return std::make_shared<ChannelScaleActivation>(s, c);
            }); }, &message),
            ErrorKind::usage);
  EXPECT_NE(message.find("kind elementwise"), std::string::npos) << message;
  EXPECT_EQ(kind_of_error([] { nn::register_activation_module("no_such_row", [](const auto& s, int64_t c) {
              return std::make_shared<ChannelScaleActivation>(s, c);
            }); }),
            ErrorKind::usage);
}

TEST(ActivationSite, ModuleRowWithoutFactoryRunsAsParameterFreeActivation) {
  register_test_rows();
  const auto spec = activations::ActivationSpec::parse("test_unbuilt_module");
  EXPECT_FALSE(nn::find_activation_module("test_unbuilt_module"));
  std::shared_ptr<nn::ActivationModule> site = nn::make_activation(spec, 16);
  EXPECT_NE(std::dynamic_pointer_cast<nn::Activation>(site), nullptr);
  EXPECT_EQ(nn::count_parameters(*site), 0);
  // Element-wise rows are always nn::Activation; the channel count must be positive.
  EXPECT_NE(std::dynamic_pointer_cast<nn::Activation>(nn::make_activation(activations::ActivationSpec::parse("elu"), 3)),
            nullptr);
  EXPECT_EQ(kind_of_error([] { nn::make_activation(activations::ActivationSpec::parse("elu"), 0); }), ErrorKind::usage);
  EXPECT_EQ(kind_of_error([] { nn::make_activation(activations::ActivationSpec(), 8); }), ErrorKind::usage);
}

namespace {

// ConvNeXt on small images: logits for CIFAR and (unpadded) MNIST shapes, a gradient for every parameter;
// an image too small for the stem and three downsamplings is refused, naming the size.
TEST(ConvNeXt, SmallImagesGiveLogitsAndEveryGradientAndTooSmallOnesAreRefused) {
  for (const auto& [channels, side] : std::vector<std::pair<int64_t, int64_t>>{{3, 32}, {1, 28}}) {
    models::ModelOptions options;
    options.name = "convnext_atto";
    options.activation = "gelu";
    options.in_channels = channels;
    options.image_size = side;
    const auto model = models::build_model(options);
    nn::initialize(*model, 1);
    model->train();
    const Tensor logits = (*model)(Tensor::full({2, channels, side, side}, 0.5f));
    ASSERT_EQ(logits.shape(), (Shape{2, 10}));
    autograd::backward(ops::cross_entropy(logits, {1, 7}));
    for (const auto& [name, p] : model->named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  }
  models::ModelOptions tiny;
  tiny.name = "convnext_atto";
  tiny.image_size = 12;
  try {
    models::build_model(tiny);
    ADD_FAILURE() << "12x12 images were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_EQ(std::string(e.what()), "model convnext_atto: image_size convnext_atto needs images of at least 16x16, got 12x12");
  }
  // 16x16 is the smallest that fits (the family's own check agrees with the registry's).
  tiny.image_size = 16;
  EXPECT_NO_THROW(models::build_model(tiny));
  models::ConvNeXtOptions direct = models::convnext_size("convnext_atto");
  direct.activation = activations::ActivationSpec::parse("gelu");
  direct.image_size = 15;
  try {
    models::ConvNeXt{direct};
    ADD_FAILURE() << "15x15 images were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("images of 15x15 are too small"), std::string::npos) << e.what();
  }
}

}  // namespace

// torchvision 0.14's VisionTransformer initialisation (vision_transformer.py; MultiheadAttention's own
// _reset_parameters), by the distribution each parameter must come from: the closed-form bounds and
// standard deviations, not Sugar's numbers. pytorch_default leaves every layer's own default.
TEST(ViT, TorchvisionInitialisationAndItsPytorchDefaultAlternative) {
  models::ModelOptions options;
  options.name = "vit_mini";  // width 128, MLP 256, patch 4
  options.activation = "gelu";
  options.init = models::default_init("vit_mini");
  EXPECT_EQ(options.init, nn::init::ConvInit::torchvision);
  auto model = models::build_model(options);
  nn::initialize(*model, 3);
  std::map<std::string, Tensor> p;
  for (auto& [name, t] : model->named_parameters()) p[name] = t;
  EXPECT_EQ(max_abs(p.at("heads.head.weight")), 0.0);
  EXPECT_EQ(max_abs(p.at("heads.head.bias")), 0.0);
  EXPECT_EQ(max_abs(p.at("class_token")), 0.0);
  EXPECT_EQ(max_abs(p.at("conv_proj.bias")), 0.0);
  // trunc_normal(std = sqrt(1 / fan_in)), fan_in 3 * 4 * 4 = 48: std 0.1443 (truncation at +-2 is 14 std
  // away, so the std is the normal's), 6144 values.
  EXPECT_NEAR(sample_std(p.at("conv_proj.weight")), std::sqrt(1.0 / 48), 0.006);
  EXPECT_NEAR(sample_std(p.at("encoder.pos_embedding")), 0.02, 0.0005);
  const std::string block = "encoder.layers.encoder_layer_0.";
  // xavier_uniform: U(+-sqrt(6 / (fan_in + fan_out))): in_proj [384, 128], MLP [256, 128] and [128, 256].
  for (const auto& [name, bound] : {std::pair{"self_attention.in_proj_weight", std::sqrt(6.0 / 512)},
                                    std::pair{"mlp.0.weight", std::sqrt(6.0 / 384)}, std::pair{"mlp.3.weight", std::sqrt(6.0 / 384)}}) {
    const Tensor& w = p.at(block + name);
    EXPECT_LE(max_abs(w), bound) << name;
    EXPECT_GT(max_abs(w), 0.99 * bound) << name;
    EXPECT_NEAR(sample_std(w), bound / std::sqrt(3.0), 0.02 * bound) << name;
  }
  EXPECT_EQ(max_abs(p.at(block + "self_attention.in_proj_bias")), 0.0);
  EXPECT_EQ(max_abs(p.at(block + "self_attention.out_proj.bias")), 0.0);
  EXPECT_GT(max_abs(p.at(block + "mlp.0.bias")), 0.0);  // N(0, 1e-6)
  EXPECT_LT(max_abs(p.at(block + "mlp.0.bias")), 1e-5);
  // out_proj.weight keeps Linear's default: U(+-1/sqrt(128)).
  EXPECT_LE(max_abs(p.at(block + "self_attention.out_proj.weight")), 1.0 / std::sqrt(128.0));
  EXPECT_GT(max_abs(p.at(block + "self_attention.out_proj.weight")), 0.99 / std::sqrt(128.0));

  options.init = nn::init::ConvInit::pytorch_default;
  auto plain = models::build_model(options);
  nn::initialize(*plain, 3);
  for (auto& [name, t] : plain->named_parameters()) p[name] = t;
  EXPECT_GT(max_abs(p.at("heads.head.weight")), 0.99 / std::sqrt(128.0));  // Linear's default, not zeros
  EXPECT_LE(max_abs(p.at(block + "mlp.0.weight")), 1.0 / std::sqrt(128.0));
  EXPECT_GT(max_abs(p.at(block + "mlp.0.bias")), 1e-3);
  EXPECT_EQ(max_abs(p.at(block + "self_attention.out_proj.bias")), 0.0);  // MultiheadAttention's own
  // 32x32 images are 64 patches and a class token: [N, 10] logits and a gradient for every parameter.
  const Tensor x = testkit::random_tensor({2, 3, 32, 32}, 4, -1, 1);
  autograd::backward(ops::cross_entropy((*plain)(x), {1, 7}));
  for (const auto& [name, t] : plain->named_parameters()) EXPECT_TRUE(t.grad().defined()) << name;
}

// torchvision 0.14's SwinTransformer initialisation: its model-level loop draws every Linear (the MLPs'
// too, after their blocks' xavier) from trunc_normal(0.02) with bias 0; the patch embedding keeps
// Conv2d's default U(+-1/sqrt(fan_in)); the bias tables are trunc_normal(0.02). Closed forms, not Sugar's
// numbers; the buffers that index the tables are compared with torchvision's by tests/cli/torch_models.sh.
TEST(Swin, TorchvisionInitialisation) {
  models::ModelOptions options;
  options.name = "swin_mini";
  options.activation = "gelu";
  options.init = models::default_init("swin_mini");
  auto model = models::build_model(options);
  nn::initialize(*model, 5);
  std::map<std::string, Tensor> p;
  for (auto& [name, t] : model->named_parameters()) p[name] = t;
  for (const char* name : {"features.1.0.attn.qkv.weight", "features.1.0.mlp.0.weight", "features.7.1.mlp.3.weight",
                           "features.2.reduction.weight", "head.weight"}) {
    EXPECT_NEAR(sample_std(p.at(name)), 0.02, 0.002) << name;  // trunc at +-2 is 100 std away
  }
  for (const char* name : {"features.1.0.attn.qkv.bias", "features.1.0.mlp.0.bias", "head.bias"})
    EXPECT_EQ(max_abs(p.at(name)), 0.0) << name;
  EXPECT_NEAR(sample_std(p.at("features.3.1.attn.relative_position_bias_table")), 0.02, 0.003);
  // Conv2d(3, 48, 2, 2): fan_in 12, U(+-1/sqrt(12)).
  EXPECT_LE(max_abs(p.at("features.0.0.weight")), 1.0 / std::sqrt(12.0));
  EXPECT_GT(max_abs(p.at("features.0.0.weight")), 0.95 / std::sqrt(12.0));
  // 32x32 images: [N, 10] logits and a gradient for every parameter.
  const Tensor x = testkit::random_tensor({2, 3, 32, 32}, 6, -1, 1);
  autograd::backward(ops::cross_entropy((*model)(x), {1, 7}));
  for (const auto& [name, t] : model->named_parameters()) EXPECT_TRUE(t.grad().defined()) << name;
}
