// Every class of config error gives one line with the file, line:column, key path, what is wrong
// and what was expected: malformed YAML, unknown and repeated keys, wrong types, out-of-range values,
// unknown names (with the nearest valid ones), bad activation specs, and values that contradict
// each other. The config files are written to a temporary directory, as a user would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "sugar/activations/spec.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::config;
namespace fs = std::filesystem;

namespace {

class ConfigErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sugar-test-config-errors-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = (dir_ / "x.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The one-line usage error that loading `text` from x.yaml throws.
  std::string error(const std::string& text) {
    std::ofstream(file_, std::ios::binary) << text;
    try {
      load_config(file_);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loaded without an error:\n" << text;
    return "";
  }
  // The expected message at line:column of x.yaml.
  std::string at(const std::string& line_column_and_message) const { return file_ + ":" + line_column_and_message; }

  fs::path dir_;
  std::string file_;
};

}  // namespace

TEST_F(ConfigErrors, MalformedYamlGivesTheParserPlace) {
  EXPECT_EQ(error("optim: {lr: 0.1\ntrain: {}\n"), at("2:6: malformed YAML: end of map flow not found"));
  EXPECT_EQ(error("model:\n  name: resnet18\n name: x\n"), at("3:2: malformed YAML: end of map not found"));
  EXPECT_EQ(error("seed: *nothing\n"), at("1:7: malformed YAML: the referenced anchor is not defined"));
  EXPECT_EQ(error("seed: 1\n---\nseed: 2\n"), at("3:1: expected one YAML document, found a second one ('---')"));
  // A ',' outside a flow list made yaml-cpp 0.7's LoadAll loop forever, eating memory (found by
  // tests/fuzz/fuzz_config).
  EXPECT_EQ(error(","), at("1:1: malformed YAML: unexpected ','"));
  EXPECT_EQ(error("- seed\n,\n"), at("2:1: malformed YAML: unexpected ','"));
  EXPECT_EQ(error("- resnet18\n"),
            at("1:1: expected a mapping with keys name, seed, model, data, optim, schedule, train, sweep, got a list"));
  EXPECT_EQ(error("resnet18\n"),
            at("1:1: expected a mapping with keys name, seed, model, data, optim, schedule, train, sweep, got 'resnet18'"));
}

// yaml-cpp recurses once per level and stops only at 2000, past what a small stack holds (issue 16);
// the loader stops at 32, in a config file and in a --set value.
TEST_F(ConfigErrors, DeepNestingIsRefusedAtItsPlace) {
  const std::string deep = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_EQ(error("train: " + deep + "\n"), at("1:39: malformed YAML: nested deeper than 32 levels"));
  EXPECT_EQ(error("a:\n" + std::string("  b:\n") + "    " + deep + "\n"),
            at("3:35: malformed YAML: nested deeper than 32 levels"));
  try {
    load_config_text("seed: 1\n", "x.yaml", {"train.epochs=" + deep});
    ADD_FAILURE() << "a --set value nested 20000 levels deep was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("train.epochs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("malformed value: nested deeper than 32 levels"), std::string::npos) << e.what();
  }
}

TEST_F(ConfigErrors, MissingFile) {
  const std::string missing = (dir_ / "missing.yaml").string();
  try {
    load_config(missing);
    ADD_FAILURE() << "loaded a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read the config file: no such file");
  }
  try {
    load_config(dir_.string());
    ADD_FAILURE() << "loaded a directory";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": cannot read the config file: " + dir_.string() +
                                         " is a directory, expected a regular file (config file)");
  }
}

TEST_F(ConfigErrors, UnknownKeysSuggestTheNearestAndListTheAllowed) {
  EXPECT_EQ(error("optim:\n  name: sgd\n  lrr: 0.1\n"),
            at("3:3: optim.lrr: unknown key; did you mean lr? (allowed: name, lr, momentum, dampening, nesterov, "
               "weight_decay, betas, eps, weight_decay_on, clip_grad_norm)"));
  EXPECT_EQ(error("seed: 1\nmodle: {name: vgg16}\n"),
            at("2:1: modle: unknown key; did you mean model? (allowed: name, seed, model, data, optim, schedule, "
               "train, sweep)"));
  EXPECT_EQ(error("data:\n  augment: {crop_padding: 4, flip: true}\n"),
            at("2:30: data.augment.flip: unknown key; did you mean hflip? (allowed: crop_padding, hflip, "
               "hflip_probability, cutout, random_erasing)"));
  // Nothing near: no suggestion, only the list.
  EXPECT_EQ(error("train: {colour: red}\n"),
            at("1:9: train.colour: unknown key (allowed: epochs, batch_size, eval_batch_size, threads, dtype, "
               "label_smoothing, conv_algo, checkpoint_every_steps, on_nonfinite, sync_bn, eval_every, neuron_stats, "
               "recompute)"));
  EXPECT_EQ(error("optim:\n  lr: 0.1\n  lr: 0.2\n"), at("3:3: optim.lr: key given twice (first at line 2)"));
  EXPECT_EQ(error("? [a, b]\n: 1\n"), at("1:3: expected a key name, got a list"));
}

TEST_F(ConfigErrors, WrongTypesSayWhatWasExpected) {
  EXPECT_EQ(error("optim:\n  lr: abc\n"), at("2:7: optim.lr: expected a number in (0, 1000], got 'abc'"));
  EXPECT_EQ(error("optim:\n  lr: [0.1]\n"), at("2:7: optim.lr: expected a number in (0, 1000], got a list"));
  EXPECT_EQ(error("optim:\n  lr:\n"), at("2:3: optim.lr: expected a number in (0, 1000], got nothing"));
  EXPECT_EQ(error("optim: {lr: .inf}\n"), at("1:13: optim.lr: expected a number in (0, 1000], got '.inf'"));
  EXPECT_EQ(error("optim: {lr: inf}\n"), at("1:13: optim.lr: expected a number in (0, 1000], got 'inf'"));
  EXPECT_EQ(error("train: {batch_size: 12.5}\n"), at("1:21: train.batch_size: expected a whole number in [1, 65536], got '12.5'"));
  EXPECT_EQ(error("train: {epochs: 1e3}\n"), at("1:17: train.epochs: expected a whole number in [1, 1000000], got '1e3'"));
  EXPECT_EQ(error("data: {train_limit: 99999999999999999999}\n"),
            at("1:21: data.train_limit: expected a whole number in [0, 1000000000], got '99999999999999999999'"));
  EXPECT_EQ(error("seed: -1\n"), at("1:7: seed: expected a whole number in [0, 18446744073709551615], got '-1'"));
  EXPECT_EQ(error("data:\n  augment:\n    hflip: maybe\n"), at("3:12: data.augment.hflip: expected true or false, got 'maybe'"));
  EXPECT_EQ(error("optim: {betas: 0.9}\n"), at("1:16: optim.betas: expected a list of numbers, got '0.9'"));
  EXPECT_EQ(error("optim:\n  betas:\n    - 0.9\n    - x\n"), at("4:7: optim.betas[1]: expected a number in [0, 1), got 'x'"));
  EXPECT_EQ(error("optim: {betas: [0.9, 0.99, 0.999]}\n"),
            at("1:16: optim.betas: expected 2 numbers [beta1, beta2], got 3"));
  EXPECT_EQ(error("name: [a, b]\n"), at("1:7: name: expected a text value, got a list"));
  EXPECT_EQ(error("model: resnet18\n"), at("1:8: model: expected a mapping with keys name, activation, batch_norm, init, init_from, init_from_sha256, got 'resnet18'"));
  EXPECT_EQ(error("schedule: {milestones: [10, ten]}\n"), at("1:29: schedule.milestones[1]: expected a whole number in [1, 1000000], got 'ten'"));
}

TEST_F(ConfigErrors, OutOfRangeValuesSayTheAllowedRange) {
  EXPECT_EQ(error("optim: {lr: 0}\n"), at("1:13: optim.lr: must be in (0, 1000], got 0"));
  EXPECT_EQ(error("optim: {lr: -1e-3}\n"), at("1:13: optim.lr: must be in (0, 1000], got -1e-3"));
  EXPECT_EQ(error("train: {batch_size: 0}\n"), at("1:21: train.batch_size: must be in [1, 65536], got 0"));
  EXPECT_EQ(error("train:\n  epochs: 0\n"), at("2:11: train.epochs: must be in [1, 1000000], got 0"));
  EXPECT_EQ(error("train: {eval_batch_size: -4}\n"), at("1:26: train.eval_batch_size: must be in [1, 65536], got -4"));
  EXPECT_EQ(error("train: {threads: 99999999999}\n"), at("1:18: train.threads: must be in [0, 4096], got 99999999999"));
  EXPECT_EQ(error("data: {train_limit: -5}\n"), at("1:21: data.train_limit: must be in [0, 1000000000], got -5"));
  EXPECT_EQ(error("data: {test_limit: -1}\n"), at("1:20: data.test_limit: must be in [0, 1000000000], got -1"));
  EXPECT_EQ(error("data: {val_split: -0.1}\n"), at("1:19: data.val_split: must be in [0, 1000000000], got -0.1"));
  EXPECT_EQ(error("data: {val_split: 1.5}\n"),
            at("1:19: data.val_split: expected 0, a fraction in (0, 1) or a whole number of samples, got 1.5"));
  EXPECT_EQ(error("data: {std: [0.2, 0, 0.2]}\n"), at("1:19: data.std[1]: must be in [1e-06, 1000], got 0"));
  EXPECT_EQ(error("data: {augment: {crop_padding: -4}}\n"), at("1:32: data.augment.crop_padding: must be in [0, 1023], got -4"));
  EXPECT_EQ(error("data: {augment: {hflip_probability: 1.5}}\n"),
            at("1:37: data.augment.hflip_probability: must be in [0, 1], got 1.5"));
  EXPECT_EQ(error("optim: {momentum: 1}\n"), at("1:19: optim.momentum: must be in [0, 1), got 1"));
  EXPECT_EQ(error("optim: {momentum: -0.5}\n"), at("1:19: optim.momentum: must be in [0, 1), got -0.5"));
  EXPECT_EQ(error("optim: {weight_decay: -1}\n"), at("1:23: optim.weight_decay: must be in [0, 1000], got -1"));
  EXPECT_EQ(error("optim: {betas: [1, 0.9]}\n"), at("1:17: optim.betas[0]: must be in [0, 1), got 1"));
  EXPECT_EQ(error("schedule: {pct_start: 0}\n"), at("1:23: schedule.pct_start: must be in (0, 1), got 0"));
  EXPECT_EQ(error("schedule: {step_size: 0}\n"), at("1:23: schedule.step_size: must be in [1, 1000000], got 0"));
  EXPECT_EQ(error("schedule: {milestones: [0]}\n"), at("1:25: schedule.milestones[0]: must be in [1, 1000000], got 0"));
  EXPECT_EQ(error("schedule: {milestones: [30, 30]}\n"),
            at("1:29: schedule.milestones[1]: milestones must increase, got 30 after 30"));
  EXPECT_EQ(error("train: {label_smoothing: 1}\n"), at("1:26: train.label_smoothing: must be in [0, 1), got 1"));
  EXPECT_EQ(error("train: {eval_every: 0}\n"), at("1:21: train.eval_every: must be in [1, 1000000], got 0"));
  EXPECT_EQ(error("name: \"a/b\"\n"),
            at("1:7: name: 'a/b' cannot name a run directory (expected no '/', '\\' or control characters, and not "
               "'.' or '..')"));
  EXPECT_EQ(error("name: \"\"\n"), at("1:7: name: must not be empty (it names the run directory)"));
}

TEST_F(ConfigErrors, CropPaddingLargerThanTheImage) {
  EXPECT_EQ(error("data:\n  augment: {crop_padding: 32}\n"),
            at("2:27: data.augment.crop_padding: 32 is not smaller than the 32x32 images of cifar10; expected at most 31"));
  // Fashion-MNIST without padding keeps its 28x28 images.
  EXPECT_EQ(error("data: {name: fashion_mnist, pad_to: 0, augment: {crop_padding: 28}}\n"),
            at("1:64: data.augment.crop_padding: 28 is not smaller than the 28x28 images of fashion_mnist; expected at "
               "most 27"));
  EXPECT_EQ(error("data: {name: image_folder, image_size: 16, augment: {cutout: 20}}\n"),
            at("1:62: data.augment.cutout: 20 is larger than the 16x16 images of image_folder; expected at most 16"));
  EXPECT_EQ(error("data: {name: mnist, mean: [0.1, 0.2, 0.3], std: [0.3, 0.3, 0.3]}\n"),
            at("1:27: data.mean: 3 values for 1-channel images of mnist; expected 1"));
}

TEST_F(ConfigErrors, UnknownNamesSuggestTheNearest) {
  EXPECT_EQ(error("model: {name: resnet81}\n"),
            at("1:15: model.name: unknown model 'resnet81'; did you mean resnet18 or resnet34? (known: resnet18, resnet34, vgg11, "
               "vgg13, vgg16, vgg19, convnext_atto, convnext_femto, convnext_tiny, mobilenetv3_small, mobilenetv3_large, vit_tiny, vit_mini, swin_tiny, swin_mini)"));
  EXPECT_EQ(error("model: {name: vgg15}\n"),
            at("1:15: model.name: unknown model 'vgg15'; did you mean vgg11 or vgg13 or vgg16? (known: resnet18, "
               "resnet34, vgg11, vgg13, vgg16, vgg19, convnext_atto, convnext_femto, convnext_tiny, mobilenetv3_small, mobilenetv3_large, vit_tiny, vit_mini, swin_tiny, swin_mini)"));
  EXPECT_EQ(error("data: {name: cifar}\n"),
            at("1:14: data.name: unknown dataset 'cifar'; did you mean cifar10 or cifar100? (known: cifar10, cifar100, mnist, "
               "fashion_mnist, image_folder)"));
  EXPECT_EQ(error("optim: {name: sgdd}\n"), at("1:15: optim.name: unknown optimizer 'sgdd'; did you mean sgd? (known: sgd, adam, adamw)"));
  EXPECT_EQ(error("optim: {name: rmsprop}\n"), at("1:15: optim.name: unknown optimizer 'rmsprop' (known: sgd, adam, adamw)"));
  EXPECT_EQ(error("schedule: {name: cosin}\n"),
            at("1:18: schedule.name: unknown schedule 'cosin'; did you mean cosine? (known: constant, step, multistep, "
               "cosine, one_cycle)"));
  EXPECT_EQ(error("train: {dtype: fp32}\n"), at("1:16: train.dtype: unknown dtype 'fp32'; did you mean f32? (known: f32, bf16)"));
  EXPECT_EQ(error("train: {conv_algo: wino}\n"),
            at("1:20: train.conv_algo: unknown convolution algorithm 'wino'; did you mean winograd? (known: auto, direct, winograd)"));
  EXPECT_EQ(error("train: {on_nonfinite: skip}\n"),
            at("1:23: train.on_nonfinite: unknown policy 'skip'; did you mean skip_batch? (known: stop, skip_batch)"));
  // The model names are the model registry's: one a program registers is a valid model.name at once.
  static const bool registered = [] {
    models::register_model("config_test_mlp", [](const models::ModelOptions&) { return std::make_shared<nn::Flatten>(); });
    return true;
  }();
  ASSERT_TRUE(registered);
  EXPECT_EQ(error("model: {name: config_test_mpl}\n"),
            at("1:15: model.name: unknown model 'config_test_mpl'; did you mean config_test_mlp? (known: resnet18, "
               "resnet34, vgg11, vgg13, vgg16, vgg19, convnext_atto, convnext_femto, convnext_tiny, mobilenetv3_small, mobilenetv3_large, vit_tiny, vit_mini, swin_tiny, swin_mini, config_test_mlp)"));
  std::ofstream(file_) << "model: {name: config_test_mlp}\n";
  EXPECT_EQ(load_config(file_).model.name, "config_test_mlp");
}

TEST_F(ConfigErrors, BadActivationSpecsCarryTheParserMessage) {
  for (const std::string spec : {"relux", "sugar(surrogate=bsilo)", "leaky_relu(negative_slope=abc)", "gelu("}) {
    std::string parser_message;
    try {
      activations::ActivationSpec::parse(spec);
    } catch (const Error& e) {
      parser_message = e.what();
    }
    ASSERT_FALSE(parser_message.empty()) << spec;
    EXPECT_EQ(error("seed: 0\nmodel: {name: resnet18, activation: \"" + spec + "\"}\n"),
              at("2:37: model.activation: " + parser_message));
  }
  EXPECT_EQ(error("model: {activation: \"\"}\n"),
            at("1:21: model.activation: expected an activation spec such as relu or \"sugar(surrogate=bsilu)\", got "
               "nothing"));
}

TEST_F(ConfigErrors, ContradictingKeysNameTheKeyToChange) {
  EXPECT_EQ(error("data: {name: cifar10, coarse_labels: true}\n"),
            at("1:38: data.coarse_labels: only cifar100 has coarse labels, but data.name is cifar10"));
  EXPECT_EQ(error("data: {name: mnist, pad_to: 20}\n"),
            at("1:29: data.pad_to: expected 0 (keep 28x28) or at least 28 for mnist, got 20"));
  EXPECT_EQ(error("data: {mean: [0.5], std: [0.2, 0.2]}\n"),
            at("1:26: data.std: data.mean has 1 values but data.std has 2; expected as many of each"));
  EXPECT_EQ(error("model: {name: resnet18, batch_norm: false}\n"),
            at("1:37: model.batch_norm: false is for vgg models only (BatchNorm is part of every ResNet block)"));
  // The smallest images a model's downsampling takes, named by the key that sets the image side.
  EXPECT_EQ(error("model: {name: vgg16}\ndata: {name: fashion_mnist, pad_to: 0}\n"),
            at("2:37: data.pad_to: vgg16 needs images of at least 32x32, got 28x28"));
  EXPECT_EQ(error("model: {name: convnext_atto}\ndata: {name: image_folder, image_size: 12}\n"),
            at("2:40: data.image_size: convnext_atto needs images of at least 16x16, got 12x12"));
  EXPECT_EQ(error("model: {name: vit_tiny}\ndata: {name: image_folder, image_size: 256}\n"),
            at("2:40: data.image_size: vit_tiny takes at most 128x128 images (32x32 patches: attention's memory "
               "grows with the square of the tokens), got 256x256"));
  EXPECT_EQ(error("model: {name: swin_mini}\ndata: {name: fashion_mnist, pad_to: 0}\n"),
            at("2:37: data.pad_to: swin_mini needs images whose side is a multiple of 16 (8 patches), got 28x28"));
  EXPECT_EQ(error("optim: {name: sgd, momentum: 0, nesterov: true}\n"),
            at("1:43: optim.nesterov: needs optim.momentum > 0 and optim.dampening 0 (as PyTorch's SGD), got "
               "momentum 0 and dampening 0"));
  EXPECT_EQ(error("optim: {name: adam, nesterov: true}\n"),
            at("1:31: optim.nesterov: only sgd has Nesterov momentum, but optim.name is adam"));
  EXPECT_EQ(error("schedule: {name: step, warmup_epochs: 2}\n"),
            at("1:39: schedule.warmup_epochs: only the cosine schedule has a warm-up, but schedule.name is step"));
  EXPECT_EQ(error("schedule: {warmup_epochs: 5}\ntrain: {epochs: 5}\n"),
            at("1:27: schedule.warmup_epochs: must be smaller than train.epochs (5), got 5"));
  // A key left at its default has no line: the message names the file.
  EXPECT_EQ(error("schedule: {name: multistep}\n"),
            file_ + ": schedule.milestones: the multistep schedule needs at least one milestone epoch, e.g. [100, 150]");
}

TEST_F(ConfigErrors, LoadingTextUsesTheGivenSourceName) {
  try {
    load_config_text("optim: {lr: 0}\n", "inline.yaml");
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "inline.yaml:1:13: optim.lr: must be in (0, 1000], got 0");
  }
  EXPECT_EQ(load_config_text("", "configs/inline.yaml").name, "inline");
}

TEST_F(ConfigErrors, MangledFilesGiveOneLineUsageErrorsOnly) {
  // Deep nesting stops at the loader's limit (32 levels, DeepNestingIsRefusedAtItsPlace), before
  // yaml-cpp's own depth guard (2000) and before a stack overflow.
  const std::string deep = error("seed: " + std::string(100000, '[') + "\n");
  EXPECT_EQ(deep.rfind(at("1:"), 0), 0u) << deep;
  EXPECT_EQ(deep.substr(deep.size() - 44), "malformed YAML: nested deeper than 32 levels") << deep;

  // A valid config mangled at random (bytes deleted, YAML punctuation inserted, lines repeated, the
  // end cut off) either loads or fails with one line of kind usage: never another exception.
  const std::string base = std::string(R"yaml(name: mangled
seed: 3
model: {name: vgg16, activation: "sugar(surrogate=nelu, alpha=0.1)", batch_norm: true}
data:
  name: cifar100
  augment: {crop_padding: 4, hflip: true}
  mean: [0.5, 0.5, 0.5]
  std: [0.25, 0.25, 0.25]
optim: {name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 5.0e-4, betas: [0.9, 0.999]}
schedule: {name: multistep, milestones: [10, 20]}
train: {epochs: 30, batch_size: 128, dtype: bf16}
sweep:
  seed: [0, 1]
  model.activation: [relu, gelu]
)yaml");
  ASSERT_NO_THROW(load_config_text(base, "base.yaml"));
  const std::string punctuation = " :-[]{},\"'#&*!|>?%@`\n\t0a.";
  std::mt19937 rng(12345);
  int loaded = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0: text.erase(at, 1 + rng() % 3); break;
        case 1: text.insert(at, 1, punctuation[rng() % punctuation.size()]); break;
        case 2: {
          const size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
          const size_t end = text.find('\n', at);
          text.insert(begin, text.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1));
          break;
        }
        default: text.resize(at); break;
      }
    }
    try {
      load_config_text(text, "m.yaml");
      ++loaded;
    } catch (const Error& e) {
      ++rejected;
      ASSERT_EQ(e.kind(), ErrorKind::usage) << e.what() << "\n--- for ---\n" << text;
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      ASSERT_EQ(std::string(e.what()).rfind("m.yaml", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      FAIL() << "not a sugar::Error: " << e.what() << "\n--- for ---\n" << text;
    }
  }
  // Both outcomes occur, so the loop exercised the checks and the happy path.
  EXPECT_GT(loaded, 100);
  EXPECT_GT(rejected, 1000);
}
