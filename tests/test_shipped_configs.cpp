// Every config shipped in configs/ loads, every value of its sweep grid is valid, and the config trains
// for one step: CIFAR configs on synthetic files in the CIFAR binary format (the real data is not on the
// test machines), the Fashion-MNIST quickstart on Debian's real files. A typo in a shipped config (an
// activation parameter, a key) fails here rather than hours into someone's grid.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/train/trainer.hpp"
#include "support/synthetic_cifar.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

const fs::path kConfigs = fs::path(__FILE__).parent_path().parent_path() / "configs";

std::vector<std::string> shipped_configs() {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(kConfigs))
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      files.push_back(fs::relative(entry.path(), kConfigs).string());
  std::sort(files.begin(), files.end());
  return files;
}

class ShippedConfig : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sugar-shipped-configs-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    testkit::write_synthetic_cifar10(root_ / "cifar10", 10, 4);
    testkit::write_synthetic_cifar100(root_ / "cifar100", 4, 4);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }
  static fs::path root_;
};
fs::path ShippedConfig::root_;

TEST(ShippedConfigs, TheExpectedFilesAreShipped) {
  const std::vector<std::string> files = shipped_configs();
  for (const char* expected : {"quickstart.yaml", "paper/resnet18-cifar10.yaml", "paper/resnet18-cifar100.yaml",
                               "paper/vgg16-cifar10.yaml", "paper/vgg16-cifar100.yaml",
                               "recipes/resnet18-cifar10.yaml", "recipes/vgg16-cifar100.yaml"})
    EXPECT_NE(std::find(files.begin(), files.end(), expected), files.end()) << expected;
}

TEST(ShippedConfigs, PaperGridIsTheSeventeenActivationsTimesFiveSeeds) {
  const config::ExperimentConfig c = config::load_config((kConfigs / "paper/vgg16-cifar100.yaml").string());
  EXPECT_EQ(c.optim.name, sugar::optim::OptimizerKind::sgd);
  EXPECT_EQ(c.optim.lr, 1e-3);
  EXPECT_EQ(c.train.batch_size, 128);
  EXPECT_EQ(c.train.epochs, 100);
  EXPECT_EQ(c.data.augment.crop_padding, 0);
  EXPECT_FALSE(c.data.augment.hflip);
  ASSERT_EQ(c.sweep.size(), 2u);
  EXPECT_EQ(c.sweep[0].key, "model.activation");
  EXPECT_EQ(c.sweep[0].values.size(), 17u);
  EXPECT_EQ(c.sweep[1].key, "seed");
  EXPECT_EQ(c.sweep[1].values, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  const auto& acts = c.sweep[0].values;
  EXPECT_NE(std::find(acts.begin(), acts.end(), "sugar(surrogate=bsilu, alpha=1.67)"), acts.end());
  EXPECT_NE(std::find(acts.begin(), acts.end(), "sugar(surrogate=nelu, alpha=0.05)"), acts.end());
}

// Loads the config with every value of every sweep axis (each once, the other axes at the base value),
// then trains the base config for one step of 4 images and evaluates 4.
TEST_P(ShippedConfig, EverySweepValueLoadsAndOneTrainingStepRuns) {
  const std::string file = (kConfigs / GetParam()).string();
  const config::ExperimentConfig base = config::load_config(file);
  for (const config::SweepAxis& axis : base.sweep)
    for (const std::string& value : axis.values)
      EXPECT_NO_THROW(config::load_config(file, {axis.key + "=" + value})) << axis.key << "=" << value;

  std::vector<std::string> tiny = {"data.train_limit=4", "data.test_limit=4", "train.batch_size=4",
                                   "train.eval_batch_size=4", "train.epochs=1", "train.threads=1"};
  if (base.data.name == "cifar10" || base.data.name == "cifar100")
    tiny.push_back("data.root=" + (root_ / base.data.name).string());
  // A warm-up must be shorter than the run: one epoch has none.
  if (base.schedule.warmup_epochs > 0) tiny.push_back("schedule.warmup_epochs=0");
  config::ExperimentConfig one_step = config::load_config(file, tiny);
  one_step.sweep.clear();
  train::TrainOptions options;
  options.run_dir = (root_ / "runs" / GetParam()).string();
  options.progress_bar = false;
  options.handle_signals = false;
  const train::TrainResult result = train::train(one_step, options);
  EXPECT_EQ(result.state, "finished");
  ASSERT_EQ(result.epochs.size(), 1u);
  EXPECT_TRUE(std::isfinite(result.epochs[0].train_loss));
  EXPECT_GT(result.epochs[0].train_loss, 0.0);
  EXPECT_TRUE(result.epochs[0].evaluated);
}

INSTANTIATE_TEST_SUITE_P(Configs, ShippedConfig, ::testing::ValuesIn(shipped_configs()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);  // no .yaml
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

}  // namespace
