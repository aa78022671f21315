// End to end: a short `sugar train` (the library call behind it) of a VGG-11 on synthetic CIFAR-10 files,
// checking the run directory, metrics.csv, determinism, exact resume after an interruption (mid-epoch)
// and after extending a constant schedule, refusal to overwrite, and `sugar eval`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/random.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/trainer.hpp"
#include "support/synthetic_cifar.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

class TrainE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sugar-train-e2e-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    testkit::write_synthetic_cifar10(fs::path(root_) / "cifar", 64, 32);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static config::ExperimentConfig make_config(const std::vector<std::string>& overrides = {}) {
    const std::string text = "name: e2e\nseed: 3\nmodel: {name: vgg11}\n"
                             "data: {name: cifar10, root: " + root_ + "/cifar, train_limit: 48, "
                             "augment: {crop_padding: 4, hflip: true}}\n"
                             "optim: {name: sgd, lr: 0.02, momentum: 0.9, weight_decay: 5.0e-4}\n"
                             "schedule: {name: cosine}\n"
                             "train: {epochs: 2, batch_size: 16, eval_batch_size: 32, threads: 1}\n";
    return config::load_config_text(text, "e2e.yaml", overrides);
  }
  static std::string dir(const std::string& name) { return root_ + "/runs/" + name; }
  static train::TrainOptions options(const std::string& run_dir) {
    train::TrainOptions o;
    o.run_dir = run_dir;
    o.progress_bar = false;
    return o;
  }
  static std::string root_;
};
std::string TrainE2E::root_;

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream cells_in(line);
    for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// The CSV without the two time columns (epoch_time_s, train_imgs_per_sec).
std::vector<std::vector<std::string>> without_time(std::vector<std::vector<std::string>> rows) {
  for (auto& r : rows) {
    if (r.size() == 10) r.erase(r.begin() + 7, r.begin() + 9);
  }
  return rows;
}

// Every tensor of two checkpoints, bit for bit.
void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const io::SafetensorsFile a = io::SafetensorsFile::read(a_path);
  const io::SafetensorsFile b = io::SafetensorsFile::read(b_path);
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    const io::TensorInfo& info = a.info(name);
    ASSERT_EQ(info.end - info.begin, b.info(name).end - b.info(name).begin) << name;
    EXPECT_EQ(std::memcmp(a.bytes(name), b.bytes(name), info.end - info.begin), 0) << name << " differs";
  }
  EXPECT_EQ(a.metadata().at("step"), b.metadata().at("step"));
  EXPECT_EQ(a.metadata().at("rng_calls"), b.metadata().at("rng_calls"));
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(io::read_file(path)); }

TEST_F(TrainE2E, RunDirectoryMetricsDeterminismResumeAndEval) {
  // ---- a 2-epoch run -----------------------------------------------------------------------------
  const config::ExperimentConfig config = make_config();
  const train::TrainResult a = train::train(config, options(dir("a")));
  EXPECT_EQ(a.state, "finished");
  EXPECT_EQ(a.epochs_done, 2);
  for (const char* file : {"config.yaml", "metrics.csv", "train.log", "last.safetensors", "best.safetensors",
                           "status.json", "run.json"}) {
    EXPECT_TRUE(fs::exists(dir("a") + "/" + file)) << file;
  }
  EXPECT_EQ(config::load_config(dir("a") + "/config.yaml"), config);

  const auto csv = read_csv(dir("a") + "/metrics.csv");
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0], (std::vector<std::string>{"epoch", "train_loss", "train_top1", "eval_loss", "eval_top1", "eval_top5",
                                              "lr", "epoch_time_s", "train_imgs_per_sec", "eval_split"}));
  for (int e = 1; e <= 2; ++e) {
    const auto& r = csv[static_cast<size_t>(e)];
    ASSERT_EQ(r.size(), 10u);
    EXPECT_EQ(r[0], std::to_string(e));
    for (int c = 1; c <= 8; ++c) EXPECT_TRUE(std::isfinite(std::stod(r[static_cast<size_t>(c)]))) << "column " << c;
    EXPECT_GT(std::stod(r[1]), 0.0);                                               // train loss
    EXPECT_GE(std::stod(r[4]), 0.0);                                               // eval top-1
    EXPECT_LE(std::stod(r[4]), std::stod(r[5]));                                   // top-1 <= top-5
    const double correct = std::stod(r[4]) * 32.0 / 100.0;                        // k of the 32 test images
    EXPECT_NEAR(correct, std::round(correct), 1e-3);
    EXPECT_EQ(r[9], "test");
  }
  // Cosine over 2 epochs x 3 iterations: epoch 1 ends at step 2, lr 0.02 * (1 + cos(pi*2/6)) / 2 = 0.015;
  // epoch 2 ends at step 5: 0.02 * (1 + cos(pi*5/6)) / 2.
  EXPECT_NEAR(std::stod(csv[1][6]), 0.015, 1e-9);
  EXPECT_NEAR(std::stod(csv[2][6]), 0.01 * (1 + std::cos(std::numbers::pi * 5 / 6)), 1e-9);

  const nlohmann::json status = read_json(dir("a") + "/status.json");
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(status["epoch"], 2);
  EXPECT_EQ(status["step"], 6);
  EXPECT_EQ(status["pid"], static_cast<int64_t>(::getpid()));
  const nlohmann::json run_info = read_json(dir("a") + "/run.json");
  EXPECT_EQ(run_info["model"]["name"], "vgg11");
  EXPECT_EQ(run_info["data"]["train"], 48);
  EXPECT_EQ(run_info["data"]["eval"], 32);
  EXPECT_EQ(run_info["threads"], 1);
  EXPECT_FALSE(run_info["onednn_version"].get<std::string>().empty());
  EXPECT_NE(io::read_file(dir("a") + "/train.log").find("epoch 2/2"), std::string::npos);

  // ---- determinism: the same config again --------------------------------------------------------
  train::train(config, options(dir("b")));
  EXPECT_EQ(without_time(read_csv(dir("b") + "/metrics.csv")), without_time(csv));
  expect_same_tensors(dir("a") + "/last.safetensors", dir("b") + "/last.safetensors");

  // ---- interrupted mid-epoch (SIGINT after step 2 of 3), then resumed ----------------------------
  train::TrainOptions interrupted = options(dir("c"));
  interrupted.after_step = [](int64_t, int64_t step) {
    if (step == 2) std::raise(SIGINT);
  };
  const train::TrainResult c1 = train::train(config, interrupted);
  EXPECT_EQ(c1.state, "interrupted");
  EXPECT_EQ(read_json(dir("c") + "/status.json")["state"], "interrupted");
  EXPECT_EQ(io::SafetensorsFile::read(dir("c") + "/last.safetensors").metadata().at("batch"), "2");
  EXPECT_EQ(read_csv(dir("c") + "/metrics.csv").size(), 1u);  // header only
  const train::TrainResult c2 = train::resume(dir("c"), {}, options(""));
  EXPECT_EQ(c2.state, "finished");
  EXPECT_EQ(without_time(read_csv(dir("c") + "/metrics.csv")), without_time(csv));
  expect_same_tensors(dir("a") + "/last.safetensors", dir("c") + "/last.safetensors");
  EXPECT_EQ(read_json(dir("c") + "/run.json")["sessions"].size(), 2u);

  // ---- refusal to overwrite, --force, and a math change on resume ---------------------------------
  try {
    train::train(config, options(dir("a")));
    FAIL() << "an existing run directory was overwritten";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  EXPECT_THROW(train::resume(dir("a"), {"optim.lr=0.5"}, options("")), Error);
  EXPECT_EQ(without_time(read_csv(dir("a") + "/metrics.csv")), without_time(csv));  // untouched

  // ---- sugar eval: the last checkpoint reproduces the last row's test numbers ---------------------
  const train::EvalResult eval = train::evaluate_run(dir("a"), "last");
  EXPECT_EQ(eval.samples, 32);
  char top1[32];
  std::snprintf(top1, sizeof top1, "%.4f", eval.top1);
  EXPECT_EQ(top1, csv[2][4]);
  char loss[32];
  std::snprintf(loss, sizeof loss, "%.6f", eval.loss);
  EXPECT_EQ(loss, csv[2][3]);
}

TEST_F(TrainE2E, ExtendingAConstantScheduleOnResumeEqualsTheLongerRun) {
  const std::vector<std::string> constant{"schedule.name=constant", "train.label_smoothing=0.1"};
  std::vector<std::string> two_epochs = constant;
  train::train(make_config(two_epochs), options(dir("long")));

  std::vector<std::string> one_epoch = constant;
  one_epoch.push_back("train.epochs=1");
  train::train(make_config(one_epoch), options(dir("short")));
  // --force replaces a finished run; the second session then extends it.
  train::train(make_config(one_epoch), [&] {
    auto o = options(dir("short"));
    o.force = true;
    return o;
  }());
  const train::TrainResult extended = train::resume(dir("short"), {"train.epochs=2", "train.checkpoint_every_steps=2"}, options(""));
  EXPECT_EQ(extended.epochs_done, 2);
  EXPECT_EQ(without_time(read_csv(dir("short") + "/metrics.csv")),
            without_time(read_csv(dir("long") + "/metrics.csv")));
  expect_same_tensors(dir("long") + "/last.safetensors", dir("short") + "/last.safetensors");
  EXPECT_EQ(config::load_config(dir("short") + "/config.yaml").train.epochs, 2);
}

}  // namespace

namespace {

TEST_F(TrainE2E, ValidationSplitIsEvaluatedAndNamedInTheCsv) {
  const train::TrainResult r = train::train(
      make_config({"data.train_limit=32", "data.val_split=16", "train.epochs=1", "schedule.name=constant"}),
      options(dir("val")));
  EXPECT_EQ(r.state, "finished");
  const auto csv = read_csv(dir("val") + "/metrics.csv");
  ASSERT_EQ(csv.size(), 2u);
  EXPECT_EQ(csv[1][9], "val");
  const double correct = std::stod(csv[1][4]) * 16.0 / 100.0;  // k of the 16 held-out images
  EXPECT_NEAR(correct, std::round(correct), 1e-3);
  const nlohmann::json run_info = read_json(dir("val") + "/run.json");
  EXPECT_EQ(run_info["data"]["train"], 16);
  EXPECT_EQ(run_info["data"]["eval"], 16);
  EXPECT_EQ(run_info["data"]["eval_split"], "val");
  // sugar eval still reports the test set.
  EXPECT_EQ(train::evaluate_run(dir("val"), "best").samples, 32);
}

}  // namespace

namespace {

// optim.clip_grad_norm reaches the training step: clipped to a global norm of 1e-6, three SGD steps of
// lr 0.1 (no momentum, no decay) move the parameters by at most 3 * 0.1 * 1e-6 in L2 norm altogether;
// unclipped, the same steps move them by far more.
TEST_F(TrainE2E, ClipGradNormBoundsEachStepsUpdate) {
  const auto moved = [&](const std::string& name, std::vector<std::string> overrides) {
    overrides.insert(overrides.end(), {"train.epochs=1", "optim.momentum=0", "optim.weight_decay=0", "optim.lr=0.1",
                                       "schedule.name=constant", "data.augment.crop_padding=0", "data.augment.hflip=false"});
    const config::ExperimentConfig config = make_config(overrides);
    train::train(config, options(dir(name)));
    const auto initial = train::build_model(config, train::documented_model_input(config));
    const io::SafetensorsFile last = io::SafetensorsFile::read(dir(name) + "/last.safetensors");
    double squares = 0;
    for (const auto& [param_name, p] : initial->named_parameters()) {
      const auto* after = reinterpret_cast<const float*>(last.bytes(param_name));
      const std::vector<float> before = p.to_vector();
      for (size_t i = 0; i < before.size(); ++i) squares += std::pow(static_cast<double>(after[i]) - before[i], 2);
    }
    return std::sqrt(squares);
  };
  EXPECT_LE(moved("clipped", {"optim.clip_grad_norm=1e-6"}), 3 * 0.1 * 1e-6 * 1.0001);
  EXPECT_GT(moved("unclipped", {}), 1e-3);
}

}  // namespace
