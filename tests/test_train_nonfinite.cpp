// train.on_nonfinite: a NaN or Inf in the loss or in a gradient stops the run (naming epoch and step,
// keeping the last good checkpoint, status failed) or skips the batch (no update; BatchNorm's running
// statistics and counters put back). Gradients are poisoned through TrainOptions::after_backward; a
// non-finite loss comes from a learning rate of 1e38 (step 1's update overflows the weights), set in
// the config struct: a config file may not ask for more than 1000 (config_schema.cpp).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/train/nonfinite.hpp"
#include "sugar/train/trainer.hpp"
#include "support/synthetic_cifar.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- the helpers -------------------------------------------------------------------------------

TEST(Nonfinite, AllFiniteFindsNaNAndInfInPlainBlockedAndBf16Tensors) {
  EXPECT_TRUE(train::all_finite(Tensor::from_vector({4}, {0.0f, -3.0e38f, 3.0e38f, 1e-45f})));
  EXPECT_FALSE(train::all_finite(Tensor::from_vector({4}, {0.0f, 1.0f, 2.0f, kNaN})));
  EXPECT_FALSE(train::all_finite(Tensor::from_vector({3}, {kInf, 1.0f, 2.0f})));
  EXPECT_FALSE(train::all_finite(Tensor::from_vector({3}, {1.0f, -kInf, 2.0f})));
  EXPECT_TRUE(train::all_finite(Tensor()));  // no gradient: nothing wrong

  // 3 channels in a 16-channel block layout: 13 padding lanes per pixel that must not count.
  std::vector<float> values(2 * 3 * 2 * 2, 0.5f);
  const Tensor plain = Tensor::from_vector({2, 3, 2, 2}, values);
  const auto blocked_desc = memory::desc({2, 3, 2, 2}, memory::data_type::f32, memory::format_tag::nChw16c);
  EXPECT_TRUE(train::all_finite(plain.to_desc(blocked_desc)));
  values.back() = kNaN;
  EXPECT_FALSE(train::all_finite(Tensor::from_vector({2, 3, 2, 2}, values).to_desc(blocked_desc)));

  EXPECT_TRUE(train::all_finite(Tensor::from_vector({2}, {1.0f, 2.0f}).to_dtype(DType::bf16)));
  EXPECT_FALSE(train::all_finite(Tensor::from_vector({2}, {1.0f, kInf}).to_dtype(DType::bf16)));
}

TEST(Nonfinite, FirstNonfiniteGradientNamesTheParameter) {
  Tensor a = Tensor::zeros({2});
  Tensor b = Tensor::zeros({3});
  Tensor c = Tensor::zeros({1});
  for (Tensor* t : {&a, &b, &c}) t->set_requires_grad(true);
  const nn::NamedTensors params{{"a", a}, {"b", b}, {"c", c}};
  EXPECT_EQ(train::first_nonfinite_gradient(params), std::nullopt);  // no gradients at all
  a.set_grad(Tensor::from_vector({2}, {1.0f, 2.0f}));
  c.set_grad(Tensor::from_vector({1}, {kNaN}));
  EXPECT_EQ(train::first_nonfinite_gradient(params), "c");
  b.set_grad(Tensor::from_vector({3}, {0.0f, kInf, 0.0f}));
  EXPECT_EQ(train::first_nonfinite_gradient(params), "b");
}

TEST(Nonfinite, StateSnapshotPutsBatchNormStatisticsBack) {
  auto bn = std::make_shared<nn::BatchNorm2d>(2);
  nn::initialize(*bn, 1);
  train::StateSnapshot snapshot(*bn);
  const Tensor x = Tensor::from_vector({2, 2, 1, 1}, {1.0f, 2.0f, 5.0f, 8.0f});
  (*bn)(x);  // mean (3, 5), unbiased variance (8, 18): running 0.1 * that + 0.9 * (0, 1)
  snapshot.save();
  const std::vector<float> mean = bn->running_mean().to_vector();
  const std::vector<float> var = bn->running_var().to_vector();
  EXPECT_NEAR(mean[0], 0.3f, 1e-6);
  EXPECT_NEAR(var[1], 0.9f + 1.8f, 1e-5);
  (*bn)(Tensor::from_vector({2, 2, 1, 1}, {kNaN, 2.0f, 5.0f, kInf}));
  EXPECT_EQ(bn->num_batches_tracked(), 2);
  EXPECT_TRUE(std::isnan(bn->running_mean().to_vector()[0]));
  snapshot.restore();
  EXPECT_EQ(bn->num_batches_tracked(), 1);
  EXPECT_EQ(bn->running_mean().to_vector(), mean);
  EXPECT_EQ(bn->running_var().to_vector(), var);
}

// ---- in the trainer ------------------------------------------------------------------------------

class TrainNonfinite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sugar-nonfinite-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    testkit::write_synthetic_cifar10(fs::path(root_) / "cifar", 48, 32);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // VGG-11 (with BatchNorm) on 48 images: 3 steps of 16 per epoch; constant LR, so a run stopped after
  // step k and one that skipped step k + 1 should have identical weights.
  static config::ExperimentConfig make_config(const std::vector<std::string>& overrides) {
    const std::string text = "name: nonfinite\nseed: 5\nmodel: {name: vgg11}\n"
                             "data: {name: cifar10, root: " + root_ + "/cifar}\n"
                             "optim: {name: sgd, lr: 0.02, momentum: 0.9}\n"
                             "schedule: {name: constant}\n"
                             "train: {epochs: 2, batch_size: 16, eval_batch_size: 32, threads: 1, neuron_stats: false}\n";
    return config::load_config_text(text, "nonfinite.yaml", overrides);
  }
  // A learning rate no config file may give (optim.lr is at most 1000), as a program may set it.
  static config::ExperimentConfig with_huge_lr(config::ExperimentConfig c) {
    c.optim.lr = 1e38;
    return c;
  }
  static std::string dir(const std::string& name) { return root_ + "/runs/" + name; }
  static train::TrainOptions options(const std::string& run_dir) {
    train::TrainOptions o;
    o.run_dir = run_dir;
    o.progress_bar = false;
    return o;
  }
  // Poisons one gradient element of the first convolution at step `at`.
  static train::TrainOptions poisoned(const std::string& run_dir, int64_t at, float value) {
    train::TrainOptions o = options(run_dir);
    o.after_backward = [at, value](int64_t, int64_t step, nn::Module& model) {
      if (step != at) return;
      for (auto& [name, param] : model.named_parameters()) {
        if (name == "features.0.weight") param.grad().data<float>()[0] = value;
      }
    };
    return o;
  }
  static std::string root_;
};
std::string TrainNonfinite::root_;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(io::read_file(path)); }

size_t csv_lines(const std::string& path) {
  const std::string text = io::read_file(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

bool every_tensor_finite(const io::SafetensorsFile& file) {
  for (const std::string& name : file.names()) {
    if (file.info(name).dtype == io::StDtype::i64) continue;
    for (float v : file.to_f32(name)) {
      if (!std::isfinite(v)) return false;
    }
  }
  return true;
}

TEST_F(TrainNonfinite, StopOnANonFiniteGradientNamesEpochAndStepAndKeepsTheLastGoodCheckpoint) {
  // Mid-epoch checkpoints after every step: without the check before the update, step 5 would apply
  // the NaN and save it.
  train::TrainOptions o = poisoned(dir("stop_grad"), 5, kNaN);
  try {
    train::train(make_config({"train.checkpoint_every_steps=1"}), o);
    FAIL() << "a NaN gradient did not stop the run";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_EQ(std::string(e.what()),
              "non-finite gradient of features.0.weight at epoch 2 step 5 (batch 2 of 3); last.safetensors keeps the "
              "last good state (epoch 1 and 1 batches of epoch 2); lower optim.lr, or set train.on_nonfinite=skip_batch");
  }
  const nlohmann::json status = read_json(dir("stop_grad") + "/status.json");
  EXPECT_EQ(status["state"], "failed");
  EXPECT_NE(status["message"].get<std::string>().find("epoch 2 step 5"), std::string::npos);
  const io::SafetensorsFile last = io::SafetensorsFile::read(dir("stop_grad") + "/last.safetensors");
  EXPECT_EQ(last.metadata().at("step"), "4");
  EXPECT_EQ(last.metadata().at("epoch"), "1");
  EXPECT_EQ(last.metadata().at("batch"), "1");
  EXPECT_TRUE(every_tensor_finite(last));
  EXPECT_EQ(csv_lines(dir("stop_grad") + "/metrics.csv"), 2u);  // header + epoch 1

  // The checkpoint resumes: the rest of the run is clean (no poison this time).
  const train::TrainResult resumed = train::resume(dir("stop_grad"), {}, options(""));
  EXPECT_EQ(resumed.state, "finished");
  EXPECT_EQ(csv_lines(dir("stop_grad") + "/metrics.csv"), 3u);
}

TEST_F(TrainNonfinite, StopOnAnInfiniteGradientBeforeTheFirstCheckpoint) {
  try {
    train::train(make_config({}), poisoned(dir("stop_inf"), 1, -kInf));
    FAIL() << "an infinite gradient did not stop the run";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "non-finite gradient of features.0.weight at epoch 1 step 1 (batch 1 of 3); no last.safetensors was "
              "written yet; lower optim.lr, or set train.on_nonfinite=skip_batch");
  }
  EXPECT_FALSE(fs::exists(dir("stop_inf") + "/last.safetensors"));
  EXPECT_EQ(read_json(dir("stop_inf") + "/status.json")["state"], "failed");
}

TEST_F(TrainNonfinite, StopOnANonFiniteLossNamesEpochAndStep) {
  // After step 1 the classifier's weights become NaN (as a diverged run's would): step 2's loss is NaN.
  train::TrainOptions o = options(dir("stop_loss"));
  nn::Module* trained = nullptr;  // the trainer's model, as the backward hook sees it
  o.after_backward = [&](int64_t, int64_t, nn::Module& model) { trained = &model; };
  o.after_step = [&](int64_t, int64_t step) {
    if (step != 1) return;
    for (auto& [name, param] : trained->named_parameters())
      if (name == "classifier.weight") param.fill_(kNaN);
  };
  try {
    train::train(make_config({}), o);
    FAIL() << "a NaN loss did not stop the run";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "non-finite training loss (NaN) at epoch 1 step 2 (batch 2 of 3); no last.safetensors was written "
              "yet; lower optim.lr, or set train.on_nonfinite=skip_batch");
  }
  EXPECT_EQ(read_json(dir("stop_loss") + "/status.json")["state"], "failed");
}

TEST_F(TrainNonfinite, StopWhenAHugeLearningRateOverflowsTheWeights) {
  // Step 1's gradients are finite; SGD with lr 1e38 then makes the weights so large that a batch
  // norm's variance exceeds float: like PyTorch's, it becomes +Inf and the outputs 0, so step 2's loss
  // is finite and its gradients are not.
  try {
    train::train(with_huge_lr(make_config({})), options(dir("stop_huge_lr")));
    FAIL() << "overflowing weights did not stop the run";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "non-finite gradient of features.0.weight at epoch 1 step 2 (batch 2 of 3); no last.safetensors was "
              "written yet; lower optim.lr, or set train.on_nonfinite=skip_batch");
  }
  EXPECT_EQ(read_json(dir("stop_huge_lr") + "/status.json")["state"], "failed");
}

TEST_F(TrainNonfinite, SkipBatchLeavesTheModelAsIfTheBatchWereNeverSeen) {
  // Run a skips its last step (3 of 3) for a NaN gradient; run b is interrupted after step 2. Every
  // tensor of their checkpoints must agree bit for bit: weights and momentum (no update), and
  // BatchNorm's running statistics and num_batches_tracked (the skipped forward undone).
  const train::TrainResult a =
      train::train(make_config({"train.epochs=1", "train.on_nonfinite=skip_batch"}), poisoned(dir("skip"), 3, kNaN));
  EXPECT_EQ(a.state, "finished");
  ASSERT_EQ(a.epochs.size(), 1u);

  train::TrainOptions interrupted = options(dir("two_steps"));
  interrupted.after_step = [](int64_t, int64_t step) {
    if (step == 2) std::raise(SIGINT);
  };
  EXPECT_EQ(train::train(make_config({"train.epochs=1"}), interrupted).state, "interrupted");

  const io::SafetensorsFile skipped = io::SafetensorsFile::read(dir("skip") + "/last.safetensors");
  const io::SafetensorsFile two = io::SafetensorsFile::read(dir("two_steps") + "/last.safetensors");
  ASSERT_EQ(skipped.names(), two.names());
  int batch_norms = 0;
  for (const std::string& name : skipped.names()) {
    const io::TensorInfo& info = skipped.info(name);
    ASSERT_EQ(info.end - info.begin, two.info(name).end - two.info(name).begin) << name;
    EXPECT_EQ(std::memcmp(skipped.bytes(name), two.bytes(name), info.end - info.begin), 0) << name << " differs";
    if (name.ends_with("num_batches_tracked")) {
      EXPECT_EQ(skipped.to_i64(name), std::vector<int64_t>{2}) << name;
      ++batch_norms;
    }
  }
  EXPECT_EQ(batch_norms, 8);  // VGG-11's eight convolutions each have a BatchNorm
  // The epoch's training loss is the mean over the two batches that counted.
  const double loss_two = std::stod(two.metadata().at("train_loss_sum")) / std::stod(two.metadata().at("train_seen"));
  EXPECT_NEAR(a.epochs[0].train_loss, loss_two, 1e-12);
  EXPECT_EQ(skipped.metadata().at("step"), "3");  // the schedule's step counter still advanced
}

TEST_F(TrainNonfinite, SkipBatchOnANonFiniteLossKeepsTheRunningStatisticsFinite) {
  // lr 1e38: step 1 counts, steps 2 and 3 have non-finite gradients (overflowed weights) and are
  // skipped; their forwards would have made the running variances +Inf and counted them.
  const train::TrainResult r =
      train::train(with_huge_lr(make_config({"train.epochs=1", "train.on_nonfinite=skip_batch"})),
                   options(dir("skip_loss")));
  EXPECT_EQ(r.state, "finished");
  const io::SafetensorsFile last = io::SafetensorsFile::read(dir("skip_loss") + "/last.safetensors");
  for (const std::string& name : last.names()) {
    if (name.ends_with("num_batches_tracked")) {
      EXPECT_EQ(last.to_i64(name), std::vector<int64_t>{1}) << name;
    } else if (name.ends_with("running_mean") || name.ends_with("running_var")) {
      for (float v : last.to_f32(name)) ASSERT_TRUE(std::isfinite(v)) << name;
    }
  }
}

}  // namespace

namespace {

// A model whose evaluation is NaN must never look like the best one: before the fix, NaN logits ranked
// every label first, scored 100% and became best.safetensors.
TEST_F(TrainNonfinite, ANaNEvaluationIsReportedAndNeverChosenAsBest) {
  // 3 steps per epoch; after the backward of step 6 (epoch 2's last) the classifier becomes NaN: the
  // step's loss was finite, its gradients are finite, and epoch 2's evaluation sees only NaN logits.
  train::TrainOptions o = options(dir("nan_eval"));
  o.after_backward = [](int64_t, int64_t step, nn::Module& model) {
    if (step != 6) return;
    for (auto& [name, param] : model.named_parameters())
      if (name == "classifier.weight")
        for (int64_t i = 0; i < param.numel(); ++i) param.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  };
  const train::TrainResult r = train::train(make_config({}), o);
  ASSERT_EQ(r.epochs.size(), 2u);
  EXPECT_TRUE(std::isfinite(r.epochs[0].eval_loss));
  EXPECT_TRUE(std::isnan(r.epochs[1].eval_loss));
  EXPECT_EQ(r.epochs[1].eval_top1, 0.0);  // not 100
  EXPECT_EQ(r.epochs[1].eval_top5, 0.0);
  EXPECT_EQ(r.best_epoch, 1);
  EXPECT_EQ(r.best_eval_top1, r.epochs[0].eval_top1);
  const io::SafetensorsFile best = io::SafetensorsFile::read(dir("nan_eval") + "/best.safetensors");
  EXPECT_EQ(best.metadata().at("epoch"), "1");
  const std::string metrics = io::read_file(dir("nan_eval") + "/metrics.csv");
  EXPECT_NE(metrics.find("\n2,"), std::string::npos);
  EXPECT_NE(metrics.find(",nan,0.0000,0.0000,"), std::string::npos) << metrics;
}

}  // namespace
