// Experiment configs: the issue's example and the quickstart load to the written values, missing keys
// take the documented defaults, to_yaml -> load gives back an equal config, overrides replace values
// (and conflicting or unknown ones are errors), sweep grids are kept as written, diff_keys and
// validate_against.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <tuple>

#include "sugar/activations/spec.hpp"
#include "sugar/config/config_schema.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::config;
namespace fs = std::filesystem;

namespace {

class ConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sugar-test-config-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  // The message of the usage error that loading `text` throws; fails the test when it loads or the
  // message is not one line.
  std::string error_of(const std::string& text, const std::vector<std::string>& overrides) {
    const std::string path = write("x.yaml", text);
    try {
      load_config(path, overrides);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loaded without an error";
    return "";
  }

  fs::path dir_;
};

const char* kIssueExample = R"yaml(name: resnet18-cifar10-sugar-bsilu
seed: 0
model: {name: resnet18, activation: "sugar(surrogate=bsilu)"}
data:
  name: cifar10
  root: data/cifar-10-batches-bin
  augment: {crop_padding: 4, hflip: true}
  train_limit: 0          # 0 = everything
  test_limit: 0
optim: {name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 5.0e-4, nesterov: false}
schedule: {name: cosine, warmup_epochs: 0}
train: {epochs: 200, batch_size: 128, eval_batch_size: 256, threads: 2, dtype: f32}
)yaml";

// A config in which every key differs from its default, with values that test exact round trips
// (0.1 + 0.2 is not 0.3; float means; text that needs quotes).
ExperimentConfig everything_changed() {
  ExperimentConfig c;
  c.name = "run: \"all\" #1 é";
  c.seed = 18446744073709551615ull;
  c.model = {"vgg16", activations::ActivationSpec::parse("sugar(surrogate=nelu, alpha=0.1)").to_string(), false, nn::init::ConvInit::torchvision,
             "weights/start.safetensors", std::string(64, 'a')};
  c.data.name = "cifar100";
  c.data.root = "/tmp/with space/back\\slash \"q\"\t";
  c.data.pad_to = 0;
  c.data.coarse_labels = true;
  c.data.image_size = 64;
  c.data.train_limit = 1000;
  c.data.test_limit = 500;
  c.data.val_split = 0.1 + 0.2;
  c.data.mean = {0.5071f, 0.4865f, 0.4409f};
  c.data.std = {0.2673f, 0.2564f, 0.2762f};
  c.data.augment = {3, true, 0.25f, 8, 0.25f};
  c.data.mix = {0.8, 1.0, 0.75, 0.25};
  c.optim = {optim::OptimizerKind::adamw, 1e-3 / 3, 0.5, 0.25, false, 0.05, {0.8, 0.95}, 1e-6,
             optim::DecayScope::weights, 2.5};
  c.schedule = {optim::ScheduleKind::multistep, 0, 7, 0.5, {30, 60, 90}, 1e-5, 0.25, 10, 100};
  c.train = {120,  64,   512, 3, DType::bf16, 0.1, ops::ConvAlgoPolicy::winograd, 250, NonfinitePolicy::skip_batch,
             true, 2,    false, Recompute::off};
  c.sweep = {{"model.activation", {"relu", "sugar(surrogate=nelu, alpha=0.1)"}}, {"seed", {"0", "1", "2"}}};
  return c;
}

}  // namespace

TEST_F(ConfigFiles, IssueExampleLoadsToTheWrittenValues) {
  const ExperimentConfig c = load_config(write("example.yaml", kIssueExample));
  EXPECT_EQ(c.name, "resnet18-cifar10-sugar-bsilu");
  EXPECT_EQ(c.seed, 0u);
  EXPECT_EQ(c.model.name, "resnet18");
  // Stored canonically: every surrogate parameter filled in.
  EXPECT_EQ(c.model.activation, activations::ActivationSpec::parse("sugar(surrogate=bsilu)").to_string());
  EXPECT_NE(c.model.activation, "sugar(surrogate=bsilu)");
  EXPECT_EQ(c.data.name, "cifar10");
  EXPECT_EQ(c.data.root, "data/cifar-10-batches-bin");
  EXPECT_EQ(c.data.augment.crop_padding, 4);
  EXPECT_TRUE(c.data.augment.hflip);
  EXPECT_EQ(c.data.augment.cutout, 0);
  EXPECT_EQ(c.optim.name, sugar::optim::OptimizerKind::sgd);
  EXPECT_EQ(c.optim.lr, 0.1);
  EXPECT_EQ(c.optim.momentum, 0.9);
  EXPECT_EQ(c.optim.weight_decay, 5.0e-4);
  EXPECT_FALSE(c.optim.nesterov);
  EXPECT_EQ(c.schedule.name, sugar::optim::ScheduleKind::cosine);
  EXPECT_EQ(c.train.epochs, 200);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.eval_batch_size, 256);
  EXPECT_EQ(c.train.threads, 2);
  EXPECT_EQ(c.train.dtype, sugar::DType::f32);
  EXPECT_TRUE(c.sweep.empty());
}

TEST_F(ConfigFiles, MissingKeysTakeTheDocumentedDefaults) {
  const ExperimentConfig c = load_config(write("my-run.yaml", "# nothing but a comment\n"));
  EXPECT_EQ(c.name, "my-run");  // the file's stem
  EXPECT_EQ(c.seed, 0u);
  EXPECT_EQ(c.model.name, "resnet18");
  EXPECT_EQ(c.model.activation, "relu");
  EXPECT_TRUE(c.model.batch_norm);
  EXPECT_EQ(c.data.name, "cifar10");
  EXPECT_EQ(c.data.root, "");
  EXPECT_EQ(c.data.pad_to, 32);
  EXPECT_EQ(c.data.val_split, 0.0);
  EXPECT_TRUE(c.data.mean.empty());
  EXPECT_FALSE(c.data.augment.any());
  EXPECT_EQ(c.optim.name, sugar::optim::OptimizerKind::sgd);
  EXPECT_EQ(c.optim.lr, 0.1);
  EXPECT_EQ(c.optim.momentum, 0.9);
  EXPECT_EQ(c.optim.dampening, 0.0);
  EXPECT_EQ(c.optim.weight_decay, 5e-4);
  EXPECT_EQ(c.optim.betas, (std::vector<double>{0.9, 0.999}));
  EXPECT_EQ(c.optim.eps, 1e-8);
  EXPECT_EQ(c.schedule.name, sugar::optim::ScheduleKind::cosine);
  EXPECT_EQ(c.schedule.warmup_epochs, 0);
  EXPECT_EQ(c.schedule.step_size, 30);
  EXPECT_EQ(c.schedule.gamma, 0.1);
  EXPECT_TRUE(c.schedule.milestones.empty());
  EXPECT_EQ(c.schedule.pct_start, 0.3);
  EXPECT_EQ(c.schedule.div_factor, 25.0);
  EXPECT_EQ(c.schedule.final_div_factor, 1e4);
  EXPECT_EQ(c.train.epochs, 200);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.eval_batch_size, 256);
  EXPECT_EQ(c.train.threads, 0);
  EXPECT_EQ(c.train.conv_algo, sugar::ops::ConvAlgoPolicy::automatic);
  EXPECT_EQ(c.train.on_nonfinite, sugar::config::NonfinitePolicy::stop);
  EXPECT_EQ(c.train.eval_every, 1);
  EXPECT_TRUE(c.train.neuron_stats);
  EXPECT_EQ(c.train.recompute, sugar::config::Recompute::automatic);
  ExperimentConfig defaults;
  defaults.name = "my-run";
  EXPECT_EQ(c, defaults);
  // Empty sections keep their defaults too.
  EXPECT_EQ(load_config(write("my-run.yaml", "model:\noptim: {}\n")), defaults);
}

// model.init, when the config leaves it out, is the model family's own: ConvNeXt's trunc_normal, VGG's
// and ResNet's pytorch_default; config.yaml then records it. Given, it is what was given.
TEST_F(ConfigFiles, ModelInitDefaultsToTheModelFamilysOwn) {
  using sugar::nn::init::ConvInit;
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: convnext_atto}\n")).model.init, ConvInit::trunc_normal);
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: vgg16}\n")).model.init, ConvInit::pytorch_default);
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: convnext_atto, init: torchvision}\n")).model.init,
            ConvInit::torchvision);
  EXPECT_EQ(load_config(write("a.yaml", "{}\n"), {"model.name=convnext_tiny"}).model.init, ConvInit::trunc_normal);
  EXPECT_NE(sugar::config::to_yaml(load_config(write("a.yaml", "model: {name: convnext_femto}\n"))).find("init: trunc_normal"),
            std::string::npos);
}

// model.activation likewise: ConvNeXt's GELU unless the config names another (the paper's substitution
// names SUGAR); VGG and ResNet keep ReLU.
TEST_F(ConfigFiles, ModelActivationDefaultsToTheModelFamilysOwn) {
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: convnext_atto}\n")).model.activation, "gelu(approximate=none)");
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: resnet34}\n")).model.activation, "relu");
  // `design`: the family's one activation, or, for MobileNetV3, which mixes ReLU and hardswish, itself.
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: resnet34, activation: design}\n")).model.activation, "relu");
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: mobilenetv3_small}\n")).model.activation, "design");
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: mobilenetv3_large, activation: design}\n")).model.activation,
            "design");
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: mobilenetv3_small, activation: gelu}\n")).model.activation,
            "gelu(approximate=none)");
  EXPECT_EQ(load_config(write("a.yaml", "model: {name: convnext_atto, activation: \"sugar(surrogate=bsilu)\"}\n"))
                .model.activation,
            sugar::activations::ActivationSpec::parse("sugar(surrogate=bsilu)").to_string());
}

TEST_F(ConfigFiles, QuickstartLoads) {
  const fs::path quickstart = fs::path(__FILE__).parent_path().parent_path() / "configs" / "quickstart.yaml";
  const ExperimentConfig c = load_config(quickstart.string());
  EXPECT_EQ(c.name, "quickstart");
  EXPECT_EQ(c.model.name, "resnet18");
  EXPECT_EQ(c.model.activation, "relu");
  EXPECT_EQ(c.data.name, "fashion_mnist");
  EXPECT_EQ(c.data.root, "");
  EXPECT_EQ(c.data.train_limit, 20000);
  EXPECT_EQ(c.data.test_limit, 0);
  EXPECT_EQ(c.data.pad_to, 0);
  EXPECT_EQ(c.optim.name, sugar::optim::OptimizerKind::adam);
  EXPECT_EQ(c.optim.lr, 2e-3);
  EXPECT_EQ(c.optim.weight_decay, 0.0);
  EXPECT_EQ(c.schedule.name, sugar::optim::ScheduleKind::cosine);
  EXPECT_EQ(c.train.epochs, 1);
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_EQ(c.train.threads, 2);
}

TEST_F(ConfigFiles, EveryKeyRoundTripsThroughToYaml) {
  const ExperimentConfig original = everything_changed();
  ExperimentConfig defaults;
  defaults.name = original.name;
  // Every key but two differs from its default, so the round trip checks each one. Nesterov momentum
  // (sgd only) and a warm-up (cosine only) cannot be set with adamw and multistep: `second` has them.
  std::vector<std::string> all;
  for (const std::string& key : config_key_paths())
    if (key != "name" && key != "optim.nesterov" && key != "schedule.warmup_epochs") all.push_back(key);
  all.push_back("sweep");
  EXPECT_EQ(diff_keys(defaults, original), all);
  ExperimentConfig second;
  second.name = "second";
  second.optim.nesterov = true;
  second.schedule.warmup_epochs = 5;
  EXPECT_EQ(load_config(write("second.yaml", to_yaml(second))), second);

  const std::string text = to_yaml(original);
  const ExperimentConfig loaded = load_config(write("resolved.yaml", text));
  EXPECT_EQ(diff_keys(original, loaded), std::vector<std::string>{}) << text;
  EXPECT_TRUE(loaded == original);
  EXPECT_EQ(loaded.data.val_split, 0.1 + 0.2);
  EXPECT_EQ(loaded.optim.lr, 1e-3 / 3);
  EXPECT_EQ(loaded.data.mean, original.data.mean);
  EXPECT_EQ(loaded.name, "run: \"all\" #1 é");
  EXPECT_EQ(loaded.data.root, "/tmp/with space/back\\slash \"q\"\t");
  EXPECT_EQ(to_yaml(loaded), text);  // a fixed point
}

TEST_F(ConfigFiles, ToYamlWritesEveryKeyInSectionsWithCanonicalValues) {
  ExperimentConfig c = load_config(write("example.yaml", kIssueExample));
  c.optim.betas = {0.8, 0.9};
  c.schedule.milestones = {3, 5};
  c.sweep = {{"seed", {"0", "1"}}, {"model.activation", {"relu", "sugar(surrogate=nelu, alpha=0.1)"}}};
  const std::string expected =
      "# Sugar experiment config, fully resolved: every key, defaults included.\n"
      "name: resnet18-cifar10-sugar-bsilu\n"
      "seed: 0\n"
      "model:\n"
      "  name: resnet18\n"
      "  activation: \"" + c.model.activation + "\"\n"
      "  batch_norm: true\n"
      "  init: pytorch_default\n"
      "  init_from: \"\"\n"
      "  init_from_sha256: \"\"\n"
      "data:\n"
      "  name: cifar10\n"
      "  root: data/cifar-10-batches-bin\n"
      "  pad_to: 32\n"
      "  coarse_labels: false\n"
      "  image_size: 32\n"
      "  train_limit: 0\n"
      "  test_limit: 0\n"
      "  val_split: 0\n"
      "  mean: []\n"
      "  std: []\n"
      "  augment:\n"
      "    crop_padding: 4\n"
      "    hflip: true\n"
      "    hflip_probability: 0.5\n"
      "    cutout: 0\n"
      "    random_erasing: 0\n"
      "  mix:\n"
      "    mixup_alpha: 0\n"
      "    cutmix_alpha: 0\n"
      "    probability: 1\n"
      "    switch_probability: 0.5\n"
      "optim:\n"
      "  name: sgd\n"
      "  lr: 0.1\n"
      "  momentum: 0.9\n"
      "  dampening: 0\n"
      "  nesterov: false\n"
      "  weight_decay: 5.0e-04\n"
      "  betas: [0.8, 0.9]\n"
      "  eps: 1.0e-08\n"
      "  weight_decay_on: all\n"
      "  clip_grad_norm: 0\n"
      "schedule:\n"
      "  name: cosine\n"
      "  warmup_epochs: 0\n"
      "  step_size: 30\n"
      "  gamma: 0.1\n"
      "  milestones: [3, 5]\n"
      "  eta_min: 0\n"
      "  pct_start: 0.3\n"
      "  div_factor: 25\n"
      "  final_div_factor: 10000\n"
      "train:\n"
      "  epochs: 200\n"
      "  batch_size: 128\n"
      "  eval_batch_size: 256\n"
      "  threads: 2\n"
      "  dtype: f32\n"
      "  label_smoothing: 0\n"
      "  conv_algo: auto\n"
      "  checkpoint_every_steps: 0\n"
      "  on_nonfinite: stop\n"
      "  sync_bn: false\n"
      "  eval_every: 1\n"
      "  neuron_stats: true\n"
      "  recompute: auto\n"
      "sweep:\n"
      "  seed: [0, 1]\n"
      "  model.activation: [relu, \"sugar(surrogate=nelu, alpha=0.1)\"]\n";
  EXPECT_EQ(to_yaml(c), expected);
  EXPECT_EQ(load_config(write("resolved.yaml", expected)), c);
  EXPECT_EQ(to_yaml(ExperimentConfig{}).find("sweep: {}\n") != std::string::npos, true);
}

TEST_F(ConfigFiles, OverridesReplaceFileValuesBeforeValidation) {
  const std::string path = write("example.yaml", kIssueExample);
  const ExperimentConfig c = load_config(path, {"optim.lr=0.01", "model.activation=gelu", "optim.betas=[0.8, 0.99]",
                                                "data.augment.hflip=false", "train.epochs = 3", "name=renamed",
                                                "data.root=", "sweep.seed=[1, 2]"});
  EXPECT_EQ(c.optim.lr, 0.01);
  EXPECT_EQ(c.model.activation, activations::ActivationSpec::parse("gelu").to_string());
  EXPECT_EQ(c.optim.betas, (std::vector<double>{0.8, 0.99}));
  EXPECT_FALSE(c.data.augment.hflip);
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_EQ(c.name, "renamed");
  EXPECT_EQ(c.data.root, "");
  ASSERT_EQ(c.sweep.size(), 1u);
  EXPECT_EQ(c.sweep[0], (SweepAxis{"seed", {"1", "2"}}));
  // Unchanged keys keep the file's values.
  EXPECT_EQ(c.data.augment.crop_padding, 4);
  EXPECT_EQ(diff_keys(load_config(path), c),
            (std::vector<std::string>{"name", "model.activation", "data.root", "data.augment.hflip", "optim.lr",
                                      "optim.betas", "train.epochs", "sweep"}));

  // The key ends at the first '='; the value may hold more of them.
  EXPECT_EQ(load_config(path, {"model.activation=leaky_relu(negative_slope=0.2)"}).model.activation,
            activations::ActivationSpec::parse("leaky_relu(negative_slope=0.2)").to_string());
  // A value the file gets wrong does not matter once an override replaces it.
  const std::string bad = write("bad.yaml", "optim: {lr: abc}\n");
  EXPECT_EQ(load_config(bad, {"optim.lr=0.2"}).optim.lr, 0.2);
  // The same key twice with the same value (as read, so 0.1 and 0.10 agree) is not a conflict.
  EXPECT_EQ(load_config(path, {"optim.lr=0.1", "optim.lr=0.10"}).optim.lr, 0.1);
  // A sweep axis given by an override replaces the file's axis in place.
  const std::string swept = write("swept.yaml", "sweep:\n  seed: [0, 1]\n  optim.lr: [0.1, 0.2]\n");
  const ExperimentConfig s = load_config(swept, {"sweep.seed=[5]"});
  EXPECT_EQ(s.sweep, (std::vector<SweepAxis>{{"seed", {"5"}}, {"optim.lr", {"0.1", "0.2"}}}));
}

TEST_F(ConfigFiles, OverrideErrorsNameTheOverride) {
  const std::string ok = "seed: 0\n";
  EXPECT_EQ(error_of(ok, {"optim.lr=0.1", "optim.lr=0.2"}),
            "--set optim.lr=0.2: optim.lr: conflicts with --set optim.lr=0.1 (the same key given twice with different values)");
  EXPECT_EQ(error_of(ok, {"optim.lrr=0.1"}), "--set optim.lrr=0.1: optim.lrr: unknown key; did you mean optim.lr? "
                                             "('sugar train --list-keys' lists the config keys)");
  EXPECT_EQ(error_of(ok, {"colour=red"}), "--set colour=red: colour: unknown key ('sugar train --list-keys' lists the config keys)");
  EXPECT_EQ(error_of(ok, {"optim.lr"}), "--set optim.lr: expected key.path=value, e.g. optim.lr=0.05");
  EXPECT_EQ(error_of(ok, {"=3"}), "--set =3: expected key.path=value, e.g. optim.lr=0.05");
  EXPECT_EQ(error_of(ok, {"optim.lr=abc"}), "--set optim.lr=abc: optim.lr: expected a number in (0, 1000], got 'abc'");
  EXPECT_EQ(error_of(ok, {"optim.lr=0"}), "--set optim.lr=0: optim.lr: must be in (0, 1000], got 0");
  EXPECT_EQ(error_of(ok, {"optim.betas=[0.9, 1]"}), "--set optim.betas=[0.9, 1]: optim.betas[1]: must be in [0, 1), got 1");
  EXPECT_EQ(error_of(ok, {"optim.betas=[0.9, 0.99"}),
            "--set optim.betas=[0.9, 0.99: optim.betas: malformed value: end of sequence flow not found");
  EXPECT_EQ(error_of(ok, {"optim={lr: 1}"}),
            "--set optim={lr: 1}: optim: is a section, not a value; set one of its keys (name, lr, momentum, dampening, "
            "nesterov, weight_decay, betas, eps, weight_decay_on, clip_grad_norm)");
  EXPECT_EQ(error_of(ok, {"sweep=[1]"}), "--set sweep=[1]: sweep: set one grid axis at a time: sweep.<key path>=[value, ...]");
  EXPECT_EQ(error_of(ok, {"sweep.seed=[1, 2]", "sweep.seed=[1, 3]"}),
            "--set sweep.seed=[1, 3]: sweep.seed: conflicts with --set sweep.seed=[1, 2] (the same key given twice with "
            "different values)");
  EXPECT_EQ(error_of(ok, {"sweep.sed=[1]"}),
            "--set sweep.sed=[1]: sweep.sed: unknown key; did you mean seed? (a sweep key is a config key path such as "
            "seed, model.activation or optim.lr)");
  // Overrides are validated with the rest of the config: the cross-key checks see them.
  EXPECT_EQ(error_of(ok, {"optim.nesterov=true", "optim.momentum=0"}),
            "--set optim.nesterov=true: optim.nesterov: needs optim.momentum > 0 and optim.dampening 0 (as PyTorch's "
            "SGD), got momentum 0 and dampening 0");
}

TEST_F(ConfigFiles, SweepAxesAreKeptInOrderAsWritten) {
  const ExperimentConfig c = load_config(write("grid.yaml", R"yaml(model: {name: vgg16}
sweep:
  model.activation: [relu, "sugar(surrogate=bsilu)", "sugar(surrogate=nelu, alpha=0.1)"]
  seed: [0, 1, 2, 3, 4]
  optim.lr:
    - 0.1
    - 1e-3
)yaml"));
  EXPECT_EQ(c.model.activation, "relu");  // the base config is untouched by the grid
  EXPECT_EQ(c.sweep, (std::vector<SweepAxis>{
                         {"model.activation", {"relu", "sugar(surrogate=bsilu)", "sugar(surrogate=nelu, alpha=0.1)"}},
                         {"seed", {"0", "1", "2", "3", "4"}},
                         {"optim.lr", {"0.1", "1e-3"}}}));
  EXPECT_EQ(load_config(write("grid2.yaml", to_yaml(c))), c);
}

TEST_F(ConfigFiles, SweepErrorsPointAtTheAxisOrValue) {
  EXPECT_EQ(error_of("sweep:\n  model.actvation: [relu]\n", {}),
            (dir_ / "x.yaml").string() + ":2:3: sweep.model.actvation: unknown key; did you mean model.activation? "
                                         "(a sweep key is a config key path such as seed, model.activation or optim.lr)");
  EXPECT_EQ(error_of("sweep:\n  seed: 3\n", {}), (dir_ / "x.yaml").string() + ":2:9: sweep.seed: expected a list of values, got '3'");
  EXPECT_EQ(error_of("sweep:\n  seed: []\n", {}), (dir_ / "x.yaml").string() + ":2:9: sweep.seed: expected a list of values, got an empty list");
  EXPECT_EQ(error_of("sweep: [seed]\n", {}),
            (dir_ / "x.yaml").string() + ":1:8: sweep: expected a mapping from key paths to lists of values, got a list");
  EXPECT_EQ(error_of("sweep:\n  seed: [0, -1]\n", {}),
            (dir_ / "x.yaml").string() + ":2:13: sweep.seed[1]: expected a whole number in [0, 18446744073709551615], got '-1'");
  EXPECT_EQ(error_of("sweep:\n  seed: [0, [1]]\n", {}),
            (dir_ / "x.yaml").string() + ":2:13: sweep.seed[1]: expected a single value, got a list");
  EXPECT_EQ(error_of("sweep:\n  optim.lr: [0.1, 0.10]\n", {}),
            (dir_ / "x.yaml").string() + ":2:19: sweep.optim.lr[1]: '0.10' is already in the list as '0.1'");
  // An activation in a grid is checked by the spec parser, at the item's place.
  std::string parse_error;
  try {
    activations::ActivationSpec::parse("sugar(surrogate=bsilo)");
  } catch (const Error& e) {
    parse_error = e.what();
  }
  ASSERT_FALSE(parse_error.empty());
  EXPECT_EQ(error_of("sweep:\n  model.activation: [relu, \"sugar(surrogate=bsilo)\"]\n", {}),
            (dir_ / "x.yaml").string() + ":2:28: sweep.model.activation[1]: " + parse_error);
}

TEST(ConfigDiff, ListsTheChangedKeysInKeyOrder) {
  ExperimentConfig a;
  ExperimentConfig b = a;
  EXPECT_TRUE(diff_keys(a, b).empty());
  EXPECT_TRUE(a == b);
  b.train.threads = 1;
  b.optim.weight_decay = std::nextafter(5e-4, 1.0);  // one ulp: a difference
  b.model.activation = "gelu";
  b.data.mean = {0.5f};
  b.sweep = {{"seed", {"0"}}};
  EXPECT_EQ(diff_keys(a, b), (std::vector<std::string>{"model.activation", "data.mean", "optim.weight_decay",
                                                       "train.threads", "sweep"}));
  EXPECT_FALSE(a == b);
}

TEST(ConfigDiff, NonMathKeysAreRealKeys) {
  // The rows marked so in the field table, in its order, then the grid.
  EXPECT_EQ(non_math_keys(), (std::vector<std::string>{"name", "model.init_from", "data.root", "train.eval_batch_size",
                                                       "train.threads", "train.conv_algo", "train.checkpoint_every_steps",
                                                       "train.eval_every", "train.neuron_stats", "train.recompute",
                                                       "sweep"}));
  // math_values: every other key, none of these.
  std::vector<std::string> math_keys;
  for (const auto& [key, value] : math_values(ExperimentConfig{})) math_keys.push_back(key);
  EXPECT_EQ(math_keys.size() + non_math_keys().size() - 1, config_key_paths().size());
  for (const std::string& key : non_math_keys())
    EXPECT_EQ(std::find(math_keys.begin(), math_keys.end(), key), math_keys.end()) << key;
  const std::vector<std::string>& keys = config_key_paths();
  for (const std::string& key : non_math_keys())
    EXPECT_TRUE(key == "sweep" || std::find(keys.begin(), keys.end(), key) != keys.end()) << key;
  // The seed, the activation and the learning rate change the math.
  for (const std::string key : {"seed", "model.activation", "optim.lr", "train.epochs", "train.dtype", "model.init_from_sha256"})
    EXPECT_EQ(std::find(non_math_keys().begin(), non_math_keys().end(), key), non_math_keys().end()) << key;
}

// Closed vocabularies (sugar/name_table.hpp): each key of one accepts exactly its owner's words, keeps
// the enum value the word names and writes the same word back.
TEST(ConfigNamedKeys, EveryWordOfTheOwnersTableReadsAndWritesBack) {
  struct Key {
    std::string section, key;
    std::vector<std::string> words;
    std::function<int(const ExperimentConfig&)> value;  // the enum value read, as an int
  };
  const std::vector<Key> keys{
      {"optim", "name", names_of(optim::OptimizerKind{}).names(), [](auto& c) { return static_cast<int>(c.optim.name); }},
      {"schedule", "name", names_of(optim::ScheduleKind{}).names(),
       [](auto& c) { return static_cast<int>(c.schedule.name); }},
      {"train", "dtype", names_of(DType{}).names(), [](auto& c) { return static_cast<int>(c.train.dtype); }},
      {"train", "conv_algo", names_of(ops::ConvAlgoPolicy{}).names(),
       [](auto& c) { return static_cast<int>(c.train.conv_algo); }},
      {"train", "on_nonfinite", names_of(NonfinitePolicy{}).names(),
       [](auto& c) { return static_cast<int>(c.train.on_nonfinite); }},
      {"train", "recompute", names_of(Recompute{}).names(), [](auto& c) { return static_cast<int>(c.train.recompute); }},
      {"model", "init", names_of(nn::init::ConvInit{}).names(), [](auto& c) { return static_cast<int>(c.model.init); }},
  };
  // What the words are, written out once: the tables are the code's, this is the documentation's.
  EXPECT_EQ(keys[0].words, (std::vector<std::string>{"sgd", "adam", "adamw"}));
  EXPECT_EQ(keys[1].words, (std::vector<std::string>{"constant", "step", "multistep", "cosine", "one_cycle"}));
  EXPECT_EQ(keys[2].words, (std::vector<std::string>{"f32", "bf16"}));
  EXPECT_EQ(keys[3].words, (std::vector<std::string>{"auto", "direct", "winograd"}));
  EXPECT_EQ(keys[4].words, (std::vector<std::string>{"stop", "skip_batch"}));
  EXPECT_EQ(keys[5].words, (std::vector<std::string>{"auto", "true", "false"}));
  EXPECT_EQ(keys[6].words, (std::vector<std::string>{"pytorch_default", "torchvision", "trunc_normal", "torchvision_mobilenet"}));
  for (const Key& k : keys) {
    const std::string path = k.section + "." + k.key;
    const ConfigField* field = find_field(path);
    ASSERT_NE(field, nullptr) << path;
    EXPECT_EQ(field->choices(), k.words) << path;
    std::vector<int> values;
    for (const std::string& word : k.words) {
      // nesterov and warm-up are off by default, so every optimizer and schedule loads on its own;
      // multistep needs a milestone.
      const std::string extra = word == "multistep" ? ", milestones: [1]" : "";
      const ExperimentConfig c =
          load_config_text(k.section + ": {" + k.key + ": " + word + extra + "}\n", "x.yaml");
      EXPECT_EQ(field->write(c), word) << path;
      values.push_back(k.value(c));
    }
    // Distinct words name distinct values.
    std::sort(values.begin(), values.end());
    EXPECT_EQ(std::adjacent_find(values.begin(), values.end()), values.end()) << path;
  }
}

TEST(ConfigValidateAgainst, ChecksCropCutoutAndNormalisationAgainstTheImages) {
  ExperimentConfig c;
  c.data.augment.crop_padding = 4;
  c.data.augment.cutout = 16;
  EXPECT_NO_THROW(validate_against(c, {3, 32, 32}));
  auto message = [&](const data::ImageShape& shape) -> std::string {
    try {
      validate_against(c, shape);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message({3, 4, 8}), "data.augment.crop_padding: 4 is not smaller than the 4x8 images; expected at most 3");
  EXPECT_EQ(message({1, 12, 12}), "data.augment.cutout: 16 is larger than the 12x12 images; expected at most 12");
  c.data.augment = {};
  c.data.mean = {0.5f, 0.5f, 0.5f};
  c.data.std = {0.25f, 0.25f, 0.25f};
  EXPECT_EQ(message({1, 28, 28}), "data.mean: 3 values for 1-channel images; expected 1");
  EXPECT_EQ(message({3, 28, 28}), "");
  c.data.mean = {0.5f};
  c.data.std = {0.25f, 0.25f};
  EXPECT_EQ(message({3, 28, 28}), "data.std: 2 values for 3-channel images; expected 1 or 3");
}

// train.recompute: auto recomputes for f32 and keeps the tensors for bf16; true and false are kept as
// written whatever the dtype.
TEST(ConfigRecompute, AutoFollowsTheDtypeAndAnExplicitSettingWins) {
  const auto enabled = [](Recompute recompute, DType dtype) {
    TrainConfig train;
    train.recompute = recompute;
    train.dtype = dtype;
    return recompute_enabled(train);
  };
  EXPECT_TRUE(enabled(Recompute::automatic, DType::f32));
  EXPECT_FALSE(enabled(Recompute::automatic, DType::bf16));
  EXPECT_TRUE(enabled(Recompute::on, DType::bf16));
  EXPECT_FALSE(enabled(Recompute::off, DType::f32));
  // Every spelling a flag accepts, kept as one value and written in one canonical form.
  for (const auto& [written, kept, canonical] : std::vector<std::tuple<std::string, Recompute, std::string>>{
           {"false", Recompute::off, "false"},
           {"no", Recompute::off, "false"},
           {"Off", Recompute::off, "false"},
           {"true", Recompute::on, "true"},
           {"yes", Recompute::on, "true"},
           {"AUTO", Recompute::automatic, "auto"}}) {
    const ExperimentConfig c = load_config_text("train: {recompute: " + written + "}\n", "x.yaml");
    EXPECT_EQ(c.train.recompute, kept) << written;
    EXPECT_NE(to_yaml(c).find("recompute: " + canonical + "\n"), std::string::npos) << written;
  }
  try {
    load_config_text("train: {recompute: sometimes}\n", "x.yaml");
    FAIL() << "recompute: sometimes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected true, false or auto"), std::string::npos) << e.what();
  }
}

// model.init_from: where the initial weights are is not part of the math, what they are is
// (model.init_from_sha256); the digest is 64 lowercase hex digits and only means something with a file.
TEST_F(ConfigFiles, InitFromPathIsFreeToMoveWhileItsDigestIsMath) {
  const std::string digest(64, 'c');
  const ExperimentConfig here = load_config(write("a.yaml", "model: {init_from: start.safetensors, init_from_sha256: " +
                                                                  digest + "}\n"));
  EXPECT_EQ(here.model.init_from, "start.safetensors");
  EXPECT_EQ(here.model.init_from_sha256, digest);
  EXPECT_EQ(load_config(write("b.yaml", "model: {init_from: x.st}\n")).model.init_from_sha256, "");
  // The same contents moved elsewhere: only a free key differs, so reports group them and a resume
  // may take the new path.
  const ExperimentConfig moved = load_config(write("a.yaml", "model: {init_from: /elsewhere/start.safetensors, "
                                                              "init_from_sha256: " + digest + "}\n"));
  EXPECT_EQ(diff_keys(here, moved), std::vector<std::string>{"model.init_from"});
  const std::vector<std::string>& free_keys = non_math_keys();
  EXPECT_NE(std::find(free_keys.begin(), free_keys.end(), "model.init_from"), free_keys.end());
  // Other contents: a math key differs.
  ExperimentConfig other = here;
  other.model.init_from_sha256 = std::string(64, 'd');
  EXPECT_EQ(diff_keys(here, other), std::vector<std::string>{"model.init_from_sha256"});
  const auto math = math_values(here);
  const auto recorded = [&](const std::string& key) {
    return std::find_if(math.begin(), math.end(), [&](const auto& kv) { return kv.first == key; }) != math.end();
  };
  EXPECT_TRUE(recorded("model.init_from_sha256"));
  EXPECT_FALSE(recorded("model.init_from"));

  const std::string bad = error_of("model: {init_from: a.st, init_from_sha256: ABC}\n", {});
  EXPECT_NE(bad.find("model.init_from_sha256: expected 64 lowercase hexadecimal digits"), std::string::npos) << bad;
  EXPECT_NE(error_of("model: {init_from: a.st}\n", {"model.init_from_sha256=" + std::string(64, 'C')})
                .find("expected 64 lowercase hexadecimal digits"),
            std::string::npos);
  const std::string alone = error_of("model: {init_from_sha256: " + digest + "}\n", {});
  EXPECT_NE(alone.find("x.yaml:1:27: model.init_from_sha256: is the digest of the model.init_from file, but "
                       "model.init_from is empty"),
            std::string::npos)
      << alone;
  const std::string nul = error_of("model: {init_from: \"a\\0b\"}\n", {});
  EXPECT_NE(nul.find("model.init_from: holds a NUL byte"), std::string::npos) << nul;
}

// model.init: PyTorch's default for new configs; a run directory whose config.yaml was written before
// the key existed trained with torchvision's init, and load_run_config must say so (keys_added_later).
TEST_F(ConfigFiles, ModelInitDefaultsToPyTorchsAndOlderRunDirectoriesReadAsTorchvision) {
  const std::string old_run = write("old.yaml", "name: old\nmodel: {name: vgg16, activation: relu}\n");
  EXPECT_EQ(load_config(old_run).model.init, sugar::nn::init::ConvInit::pytorch_default);
  EXPECT_EQ(load_run_config(old_run).model.init, sugar::nn::init::ConvInit::torchvision);
  // A run directory that names its init keeps it, and an override wins over the legacy value.
  const std::string new_run = write("new.yaml", "name: new\nmodel: {name: vgg16, init: pytorch_default}\n");
  EXPECT_EQ(load_run_config(new_run).model.init, sugar::nn::init::ConvInit::pytorch_default);
  EXPECT_EQ(load_run_config(old_run, {"model.init=pytorch_default"}).model.init, sugar::nn::init::ConvInit::pytorch_default);
  // What to_yaml writes names the key, so a run directory written from now on reads back as it ran.
  const ExperimentConfig legacy = load_run_config(old_run);
  EXPECT_EQ(load_run_config(write("again.yaml", to_yaml(legacy))), legacy);
  const std::string message = error_of("model: {init: kaiming}\n", {});
  EXPECT_NE(message.find("model.init"), std::string::npos) << message;
  EXPECT_NE(message.find("pytorch_default"), std::string::npos) << message;
  EXPECT_NE(message.find("torchvision"), std::string::npos) << message;
  // The legacy table names real keys with valid values (a typo there would silently never apply).
  for (const KeyAddedLater& key : keys_added_later()) {
    const std::vector<std::string>& paths = config_key_paths();
    EXPECT_NE(std::find(paths.begin(), paths.end(), key.path), paths.end()) << key.path;
    EXPECT_NO_THROW(load_config(new_run, {key.path + "=" + key.value_before})) << key.path;
  }
}
