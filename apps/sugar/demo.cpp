// `sugar demo`: trains a small CNN on synthetic images, end to end through the library (tensors,
// oneDNN ops, autograd, nn modules, SGD), in a few seconds. It shows the engine works on this machine
// and how fast; it is also a short, complete example of a training loop written against the library.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "command.hpp"
#include "option_checks.hpp"
#include "sugar/autograd.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/ops/shape.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/random.hpp"
#include "sugar/runtime.hpp"

namespace sugar::cli {
namespace {

constexpr int64_t kClasses = 4;
constexpr int64_t kChannels = 3;
constexpr int64_t kSize = 16;  // images are kChannels x kSize x kSize
constexpr int64_t kImageNumel = kChannels * kSize * kSize;

struct DemoOptions {
  int epochs = 8;
  int batch = 32;
  uint64_t seed = 0;
  double lr = 0.05;
  int64_t train_images = 512;
  int64_t test_images = 256;
};

// ---- data -------------------------------------------------------------------------------------

struct Dataset {
  std::vector<float> images;  // [n, 3, 16, 16] row-major
  std::vector<int32_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// Image i has class i % 4: horizontal stripes, vertical stripes, diagonal stripes or a checkerboard,
// each with a random phase, a random colour (per-channel gain) and Gaussian noise. Telling them apart
// needs oriented filters, which two 3x3 convolutions learn within a few epochs.
Dataset make_dataset(int64_t count, uint64_t seed, const std::string& split) {
  const RandomStream params(seed, "demo/" + split + "/params");
  const RandomStream noise(seed, "demo/" + split + "/noise");
  constexpr double kTwoPi = 2.0 * std::numbers::pi;
  constexpr double kPeriod = 4.0;  // pixels per stripe cycle
  constexpr double kNoiseStd = 0.5;
  Dataset data;
  data.images.resize(static_cast<size_t>(count * kImageNumel));
  data.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const auto label = static_cast<int32_t>(i % kClasses);
    data.labels[static_cast<size_t>(i)] = label;
    const uint64_t base = static_cast<uint64_t>(i) * 8;
    const double phase = kTwoPi * params.uniform_double(base);
    for (int64_t c = 0; c < kChannels; ++c) {
      const double gain = 0.5 + params.uniform_double(base + 1 + static_cast<uint64_t>(c));
      for (int64_t y = 0; y < kSize; ++y) {
        for (int64_t x = 0; x < kSize; ++x) {
          double pattern = 0.0;
          switch (label) {
            case 0: pattern = std::sin(kTwoPi * y / kPeriod + phase); break;
            case 1: pattern = std::sin(kTwoPi * x / kPeriod + phase); break;
            case 2: pattern = std::sin(kTwoPi * (x + y) / kPeriod + phase); break;
            default: pattern = std::sin(kTwoPi * x / kPeriod + phase) * std::sin(kTwoPi * y / kPeriod + phase); break;
          }
          const int64_t offset = ((i * kChannels + c) * kSize + y) * kSize + x;
          const double value = gain * pattern + kNoiseStd * noise.normal(static_cast<uint64_t>(offset));
          data.images[static_cast<size_t>(offset)] = static_cast<float>(value);
        }
      }
    }
  }
  return data;
}

// The images and labels of data[order[begin..end)] as one batch.
Tensor gather_images(const Dataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  std::vector<float> values(static_cast<size_t>((end - begin) * kImageNumel));
  for (int64_t k = begin; k < end; ++k) {
    const auto src = data.images.begin() + order[static_cast<size_t>(k)] * kImageNumel;
    std::copy(src, src + kImageNumel, values.begin() + (k - begin) * kImageNumel);
  }
  return Tensor::from_vector({end - begin, kChannels, kSize, kSize}, values);
}

std::vector<int32_t> gather_labels(const Dataset& data, const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  std::vector<int32_t> labels;
  for (int64_t k = begin; k < end; ++k) labels.push_back(data.labels[static_cast<size_t>(order[static_cast<size_t>(k)])]);
  return labels;
}

// Fisher-Yates with counter-based draws: the order depends only on the seed and the epoch.
std::vector<int64_t> shuffled_order(int64_t count, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) order[static_cast<size_t>(i)] = i;
  const RandomStream rng(seed, "demo/shuffle/epoch" + std::to_string(epoch));
  for (int64_t i = count - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.bits(static_cast<uint64_t>(i)) % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

// ---- model ------------------------------------------------------------------------------------

// Conv-BN-ReLU x2 at 16x16, max-pool to 8x8, Conv-BN-ReLU, global average pool, linear classifier.
// Activations stay in oneDNN's blocked layout until the flatten before the classifier.
class DemoNet : public nn::Module {
 public:
  DemoNet() {
    conv1_ = register_module("conv1", std::make_shared<nn::Conv2d>(kChannels, 16, 3, 1, 1, 1, 1, false));
    bn1_ = register_module("bn1", std::make_shared<nn::BatchNorm2d>(16));
    conv2_ = register_module("conv2", std::make_shared<nn::Conv2d>(16, 32, 3, 1, 1, 1, 1, false));
    bn2_ = register_module("bn2", std::make_shared<nn::BatchNorm2d>(32));
    pool_ = register_module("pool", std::make_shared<nn::MaxPool2d>(2));
    conv3_ = register_module("conv3", std::make_shared<nn::Conv2d>(32, 32, 3, 1, 1, 1, 1, false));
    bn3_ = register_module("bn3", std::make_shared<nn::BatchNorm2d>(32));
    gap_ = register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool2d>(1));
    fc_ = register_module("fc", std::make_shared<nn::Linear>(32, kClasses));
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = ops::relu(bn1_->forward(conv1_->forward(x)));
    h = ops::relu(bn2_->forward(conv2_->forward(h)));
    h = pool_->forward(h);
    h = ops::relu(bn3_->forward(conv3_->forward(h)));
    return fc_->forward(ops::flatten(gap_->forward(h)));
  }
  std::string type_name() const override { return "DemoNet"; }

 private:
  std::shared_ptr<nn::Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<nn::BatchNorm2d> bn1_, bn2_, bn3_;
  std::shared_ptr<nn::MaxPool2d> pool_;
  std::shared_ptr<nn::AdaptiveAvgPool2d> gap_;
  std::shared_ptr<nn::Linear> fc_;
};

int64_t count_correct(const Tensor& logits, const std::vector<int32_t>& labels) {
  const std::vector<float> values = logits.to_vector();
  int64_t correct = 0;
  for (size_t n = 0; n < labels.size(); ++n) {
    const auto row = values.begin() + static_cast<int64_t>(n) * kClasses;
    if (std::max_element(row, row + kClasses) - row == labels[n]) ++correct;
  }
  return correct;
}

double evaluate(DemoNet& model, const Dataset& data, int batch) {
  autograd::NoGradGuard no_grad;
  model.eval();
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) order[static_cast<size_t>(i)] = i;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < data.size(); begin += batch) {
    const int64_t end = std::min<int64_t>(begin + batch, data.size());
    correct += count_correct(model(gather_images(data, order, begin, end)), gather_labels(data, order, begin, end));
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(data.size());
}

int run_demo(const DemoOptions& options) {
  using Clock = std::chrono::steady_clock;
  const Dataset train = make_dataset(options.train_images, options.seed, "train");
  const Dataset test = make_dataset(options.test_images, options.seed, "test");

  DemoNet model;
  nn::initialize(model, options.seed);
  optim::SgdOptions sgd;
  sgd.lr = options.lr;
  sgd.momentum = 0.9;
  optim::SGD optimizer(model.parameters(), sgd);
  spdlog::info("demo: {} parameters, {} training and {} test images of 3x16x16 in {} classes, {} threads",
               nn::count_parameters(model), train.size(), test.size(), kClasses, num_threads());

  const auto start = Clock::now();
  double test_accuracy = 0.0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    model.train();
    const std::vector<int64_t> order = shuffled_order(train.size(), options.seed, epoch);
    const auto epoch_start = Clock::now();
    double loss_sum = 0.0;
    int64_t correct = 0;
    for (int64_t begin = 0; begin < train.size(); begin += options.batch) {
      const int64_t end = std::min<int64_t>(begin + options.batch, train.size());
      const std::vector<int32_t> labels = gather_labels(train, order, begin, end);
      const Tensor logits = model(gather_images(train, order, begin, end));
      const Tensor loss = ops::cross_entropy(logits, labels);
      loss_sum += static_cast<double>(loss.item()) * static_cast<double>(end - begin);
      correct += count_correct(logits, labels);
      optimizer.zero_grad();
      autograd::backward(loss);
      optimizer.step();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    test_accuracy = evaluate(model, test, options.batch);
    const auto n = static_cast<double>(train.size());
    std::printf("epoch %2d/%d  loss %.4f  train acc %5.1f%%  test acc %5.1f%%  %6.0f img/s\n", epoch, options.epochs,
                loss_sum / n, 100.0 * static_cast<double>(correct) / n, test_accuracy, n / seconds);
    std::fflush(stdout);
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("demo: test accuracy %.1f%% after %d epoch%s (%.1f s, %d thread%s)\n", test_accuracy, options.epochs,
              options.epochs == 1 ? "" : "s", total, num_threads(), num_threads() == 1 ? "" : "s");
  return 0;
}

}  // namespace

Command add_demo_command(CLI::App& parent) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* sub = parent.add_subcommand(
      "demo", "Train a small CNN on synthetic images with SGD and print loss, accuracy and speed per epoch");
  sub->footer(
      "\nThe network: Conv-BN-ReLU (16 channels), Conv-BN-ReLU (32), 2x2 max-pool, Conv-BN-ReLU (32), global\n"
      "average pool, Linear(32, 4). The data: 512 training and 256 test images of 3x16x16, four classes\n"
      "(horizontal, vertical, diagonal stripes, checkerboard) with random phase, colour and noise.");
  sub->add_option("--epochs", options->epochs, "Passes over the 512 training images (default: 8)")
      ->check(within<int>(1, 1000));
  sub->add_option("--batch", options->batch, "Images per SGD step (default: 32)")->check(within<int>(2, 512));
  sub->add_option("--seed", options->seed, "Seed of the data, the initial weights and the order (default: 0)")
      ->check(within<uint64_t>(0, std::numeric_limits<uint64_t>::max()));
  sub->add_option("--lr", options->lr, "SGD learning rate, momentum 0.9 (default: 0.05)")
      ->check(within<double>(1e-6, 10.0));
  return {sub, [options] { return run_demo(*options); }};
}

}  // namespace sugar::cli
