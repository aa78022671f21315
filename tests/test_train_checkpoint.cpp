// Checkpoints: PyTorch state_dict names and types in the file, an exact round trip of model, optimizer
// and random-call counters into a fresh model (identical logits, identical next update), and checkpoints
// of another model or optimizer rejected before anything is modified.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/optim/adam.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/random.hpp"
#include "sugar/train/checkpoint.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sugar-checkpoint-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

// conv - bn - rrelu - pool - flatten - dropout - linear: parameters, buffers, a counter and two modules
// whose random draws are keyed by their call count.
std::shared_ptr<nn::Sequential> make_net(int64_t classes, bool batch_norm = true) {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1, 1, 1, false));
  if (batch_norm) net->push_back(std::make_shared<nn::BatchNorm2d>(8));
  net->push_back(std::make_shared<nn::Activation>("rrelu"));
  net->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Dropout>(0.5f));
  net->push_back(std::make_shared<nn::Linear>(8, classes));
  return net;
}

Tensor fixed_images(uint64_t seed) {
  const RandomStream rng(seed, "test/images");
  std::vector<float> values(4 * 3 * 6 * 6);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(rng.normal(i));
  return Tensor::from_vector({4, 3, 6, 6}, values);
}

void train_steps(nn::Module& model, optim::Optimizer& optimizer, int steps, uint64_t first_seed) {
  model.train();
  for (int s = 0; s < steps; ++s) {
    const Tensor loss = ops::cross_entropy(model(fixed_images(first_seed + s)), {0, 1, 2, 3});
    optimizer.zero_grad();
    autograd::backward(loss);
    optimizer.step();
  }
}

std::vector<std::vector<float>> snapshot(const nn::Module& model) {
  std::vector<std::vector<float>> values;
  for (const auto& [name, t] : model.named_parameters()) values.push_back(t.to_vector());
  for (const auto& [name, t] : model.named_buffers()) values.push_back(t.to_vector());
  for (const auto& [name, c] : model.named_counters()) values.push_back({static_cast<float>(*c)});
  return values;
}

void expect_bitwise_equal(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
}

optim::SgdOptions sgd_options() {
  optim::SgdOptions options;
  options.lr = 0.05;
  options.momentum = 0.9;
  options.weight_decay = 5e-4;
  return options;
}

TEST(Checkpoint, FreshModelLoadsToIdenticalLogitsAndIdenticalNextUpdate) {
  TempDir dir;
  auto a = make_net(4);
  nn::initialize(*a, 1);
  optim::SGD sgd_a(a->parameters(), sgd_options());
  train_steps(*a, sgd_a, 3, 100);
  train::save_checkpoint(dir.file("a.safetensors"), *a, &sgd_a, {{"epoch", "7"}});

  // b: the same seed (dropout and rrelu streams are keyed by it, like the trainer's config seed), but
  // trained on other batches, so every weight, statistic, counter and momentum differs until loaded.
  auto b = make_net(4);
  nn::initialize(*b, 1);
  optim::SGD sgd_b(b->parameters(), sgd_options());
  train_steps(*b, sgd_b, 5, 900);
  const io::Metadata metadata = train::load_checkpoint(dir.file("a.safetensors"), *b, &sgd_b);
  EXPECT_EQ(metadata.at("epoch"), "7");
  EXPECT_EQ(metadata.at("optimizer"), "SGD");

  const auto sa = snapshot(*a), sb = snapshot(*b);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) expect_bitwise_equal(sa[i], sb[i], "tensor " + std::to_string(i));
  EXPECT_EQ(*b->named_counters().front().second, 3);  // 1.num_batches_tracked
  const auto state_a = sgd_a.named_state(), state_b = sgd_b.named_state();
  ASSERT_EQ(state_a.size(), state_b.size());
  for (size_t i = 0; i < state_a.size(); ++i) {
    EXPECT_EQ(state_a[i].first, state_b[i].first);
    expect_bitwise_equal(state_a[i].second.to_vector(), state_b[i].second.to_vector(), state_a[i].first);
  }
  EXPECT_EQ(dynamic_cast<nn::Dropout&>((*b)[5]).calls(), 3u);
  EXPECT_EQ(dynamic_cast<nn::Activation&>((*b)[2]).calls(), 3u);

  a->eval();
  b->eval();
  {
    autograd::NoGradGuard no_grad;
    expect_bitwise_equal((*a)(fixed_images(7)).to_vector(), (*b)(fixed_images(7)).to_vector(), "eval logits");
  }
  // One more training step on each: same dropout mask, same rrelu slopes, same momentum -> same weights.
  train_steps(*a, sgd_a, 1, 200);
  train_steps(*b, sgd_b, 1, 200);
  const auto ta = snapshot(*a), tb = snapshot(*b);
  for (size_t i = 0; i < ta.size(); ++i) expect_bitwise_equal(ta[i], tb[i], "after a step, tensor " + std::to_string(i));
}

TEST(Checkpoint, FileHoldsPyTorchNamesI64CountersAndOptimizerState) {
  TempDir dir;
  auto net = make_net(4);
  nn::initialize(*net, 1);
  optim::SGD sgd(net->parameters(), sgd_options());
  train_steps(*net, sgd, 2, 100);
  train::save_checkpoint(dir.file("c.safetensors"), *net, &sgd);
  const io::SafetensorsFile file = io::SafetensorsFile::read(dir.file("c.safetensors"));
  EXPECT_EQ(file.names(),
            (std::vector<std::string>{"0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean",
                                      "1.running_var", "1.weight", "6.bias", "6.weight", "optim.0.weight.momentum_buffer",
                                      "optim.1.bias.momentum_buffer", "optim.1.weight.momentum_buffer",
                                      "optim.6.bias.momentum_buffer", "optim.6.weight.momentum_buffer"}));
  EXPECT_EQ(file.info("0.weight").shape, (std::vector<int64_t>{8, 3, 3, 3}));
  EXPECT_EQ(file.info("0.weight").dtype, io::StDtype::f32);
  EXPECT_EQ(file.info("1.num_batches_tracked").dtype, io::StDtype::i64);
  EXPECT_EQ(file.info("1.num_batches_tracked").shape, std::vector<int64_t>{});
  EXPECT_EQ(file.to_i64("1.num_batches_tracked"), std::vector<int64_t>{2});
  for (const auto& [name, t] : net->named_parameters()) expect_bitwise_equal(file.to_f32(name), t.to_vector(), name);
  for (const auto& [name, t] : sgd.named_state()) {
    expect_bitwise_equal(file.to_f32("optim." + name), t.to_vector(), name);
  }
  EXPECT_EQ(file.metadata().at("rng_calls"), R"({"2":2,"5":2})");
}

TEST(Checkpoint, AdamStepCountersRoundTripAsI64) {
  TempDir dir;
  auto a = make_net(4);
  nn::initialize(*a, 1);
  optim::Adam adam_a(a->parameters(), optim::AdamOptions{});
  train_steps(*a, adam_a, 2, 100);
  train::save_checkpoint(dir.file("adam.safetensors"), *a, &adam_a);
  const io::SafetensorsFile file = io::SafetensorsFile::read(dir.file("adam.safetensors"));
  EXPECT_EQ(file.info("optim.0.weight.step").dtype, io::StDtype::i64);
  EXPECT_EQ(file.to_i64("optim.0.weight.step"), std::vector<int64_t>{2});

  auto b = make_net(4);
  nn::initialize(*b, 1);
  optim::Adam adam_b(b->parameters(), optim::AdamOptions{});
  train::load_checkpoint(file, *b, &adam_b);
  EXPECT_EQ(adam_b.named_counters(), adam_a.named_counters());
  train_steps(*a, adam_a, 1, 300);
  train_steps(*b, adam_b, 1, 300);
  const auto ta = snapshot(*a), tb = snapshot(*b);
  for (size_t i = 0; i < ta.size(); ++i) expect_bitwise_equal(ta[i], tb[i], "adam step, tensor " + std::to_string(i));
}

// Loading must throw with `message` in the text and leave model and optimizer exactly as they were.
void expect_rejected_untouched(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                               const std::string& message) {
  const auto before = snapshot(model);
  const size_t state_before = optimizer ? optimizer->named_state().size() : 0;
  try {
    train::load_checkpoint(path, model, optimizer);
    FAIL() << "the checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  const auto after = snapshot(model);
  for (size_t i = 0; i < before.size(); ++i) expect_bitwise_equal(before[i], after[i], "untouched tensor " + std::to_string(i));
  if (optimizer) EXPECT_EQ(optimizer->named_state().size(), state_before);
}

TEST(Checkpoint, OtherShapesAreRejectedWithoutModifyingTheModel) {
  TempDir dir;
  auto a = make_net(4);
  nn::initialize(*a, 1);
  optim::SGD sgd_a(a->parameters(), sgd_options());
  train_steps(*a, sgd_a, 1, 100);
  train::save_checkpoint(dir.file("a.safetensors"), *a, &sgd_a);

  auto five = make_net(5);
  nn::initialize(*five, 2);
  optim::SGD sgd_five(five->parameters(), sgd_options());
  expect_rejected_untouched(dir.file("a.safetensors"), *five, &sgd_five,
                            "6.bias has shape [4] in the file but [5] in the model");
}

TEST(Checkpoint, OtherArchitecturesAreRejectedNamingMissingAndUnexpectedTensors) {
  TempDir dir;
  auto a = make_net(4);
  nn::initialize(*a, 1);
  train::save_checkpoint(dir.file("a.safetensors"), *a, nullptr);

  auto no_bn = make_net(4, /*batch_norm=*/false);  // indices shift: 5.weight instead of 6.weight
  nn::initialize(*no_bn, 2);
  expect_rejected_untouched(dir.file("a.safetensors"), *no_bn, nullptr, "missing 2 tensors (5.bias, 5.weight)");
  expect_rejected_untouched(dir.file("a.safetensors"), *no_bn, nullptr, "unexpected 7 tensors");
}

TEST(Checkpoint, AnotherOptimizersStateIsRejectedWithoutModifyingTheModel) {
  TempDir dir;
  auto a = make_net(4);
  nn::initialize(*a, 1);
  optim::SGD sgd(a->parameters(), sgd_options());
  train_steps(*a, sgd, 1, 100);
  train::save_checkpoint(dir.file("sgd.safetensors"), *a, &sgd);

  auto b = make_net(4);
  nn::initialize(*b, 2);
  optim::Adam adam(b->parameters(), optim::AdamOptions{});
  expect_rejected_untouched(dir.file("sgd.safetensors"), *b, &adam, "holds the state of a SGD optimizer, not of Adam");
  // Without an optimizer the model part loads.
  train::load_checkpoint(dir.file("sgd.safetensors"), *b, nullptr);
  expect_bitwise_equal(snapshot(*a)[0], snapshot(*b)[0], "0.weight");
}

TEST(Checkpoint, ResNet18CheckpointHasTheReferenceStateDict) {
  models::ModelOptions options;
  options.name = "resnet18";
  auto model = models::build_model(options);
  nn::initialize(*model, 0);
  const io::SafetensorsFile file =
      io::SafetensorsFile::parse(train::checkpoint_bytes(*model, nullptr), "resnet18.safetensors");
  // 62 parameters + 40 buffers + 20 counters, as torch's state_dict of kuangliu's ResNet18.
  EXPECT_EQ(file.size(), 122u);
  int64_t parameters = 0;
  for (const auto& [name, t] : model->named_parameters()) parameters += file.info(name).numel();
  EXPECT_EQ(parameters, 11173962);
  EXPECT_EQ(file.info("layer2.0.shortcut.0.weight").shape, (std::vector<int64_t>{128, 64, 1, 1}));
  EXPECT_EQ(file.info("layer2.0.shortcut.1.num_batches_tracked").dtype, io::StDtype::i64);
  EXPECT_EQ(file.info("linear.weight").shape, (std::vector<int64_t>{10, 512}));
  EXPECT_EQ(file.to_f32("layer1.0.bn1.running_var"), std::vector<float>(64, 1.0f));
}

}  // namespace
