// model.init_from through the trainer and the sweep: a run starts from the file's weights, records the
// file's SHA-256 in config.yaml and in its checkpoints, resumes without the file, refuses a digest
// edited in config.yaml or a file that is not the pinned one, and a sweep never takes a run of another
// file's contents for its cell.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/config/yaml_values.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/regular_file.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/io/sha256.hpp"
#include "sugar/sweep/plan.hpp"
#include "sugar/sweep/run_state.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/checkpoint.hpp"
#include "sugar/train/trainer.hpp"
#include "support/synthetic_cifar.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

class TrainInitFrom : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "sugar-train-init-from-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    testkit::write_synthetic_cifar10(fs::path(root_) / "cifar", 24, 8);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // A VGG-11 for 2 epochs of 3 steps on synthetic CIFAR-10 images.
  static std::string config_text(const std::string& init_from, uint64_t seed = 3) {
    return "name: init-from\nseed: " + std::to_string(seed) + "\nmodel: {name: vgg11, init_from: \"" + init_from +
           "\"}\ndata: {name: cifar10, root: " + root_ + "/cifar}\n"
           "optim: {name: sgd, lr: 0.01, momentum: 0.9}\nschedule: {name: constant}\n"
           "train: {epochs: 2, batch_size: 8, eval_batch_size: 8, threads: 1, conv_algo: direct, "
           "neuron_stats: false}\n";
  }
  static config::ExperimentConfig make_config(const std::string& init_from) {
    return config::load_config_text(config_text(init_from), "init-from.yaml");
  }
  // The weights of a VGG-11 initialised from `seed`, as a safetensors file (a Sugar checkpoint of the
  // model alone, what a PyTorch state_dict of the same model holds).
  static std::string write_weights(const std::string& name, uint64_t seed) {
    config::ExperimentConfig c = make_config("");
    c.seed = seed;
    const data::DataSplits data = data::load_data(c.data);
    const auto model = train::build_model(c, data);
    const std::string path = root_ + "/" + name;
    train::save_checkpoint(path, *model, nullptr);
    return path;
  }
  static std::string dir(const std::string& name) { return root_ + "/runs/" + name; }
  static train::TrainOptions options(const std::string& run_dir) {
    train::TrainOptions o;
    o.run_dir = run_dir;
    o.progress_bar = false;
    o.handle_signals = true;
    return o;
  }
  static std::string sha256_of(const std::string& path) {
    return io::sha256_hex(io::read_regular_file(path, io::kMaxCheckpointFileBytes, "test file"));
  }
  static std::string root_;
};
std::string TrainInitFrom::root_;

// metrics.csv without its two time columns (epoch_time_s, train_imgs_per_sec): what two runs of the same
// math share.
std::string metrics_without_times(const std::string& run_dir) {
  std::istringstream in(io::read_file(run_dir + "/metrics.csv"));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    for (size_t c = 0; c < cells.size(); ++c)
      if (c != 7 && c != 8) out += cells[c] + ",";
    out += "\n";
  }
  return out;
}

// The digest a checkpoint's config_math records, as YAML text like every value there.
std::string recorded_digest(const std::string& checkpoint) {
  const io::SafetensorsFile file = io::SafetensorsFile::read(checkpoint);
  return nlohmann::json::parse(file.metadata().at("config_math")).at("model.init_from_sha256").get<std::string>();
}

TEST_F(TrainInitFrom, ARunStartsFromTheFileAndRecordsItsDigest) {
  const std::string weights = write_weights("start.safetensors", 77);
  const io::SafetensorsFile file = io::SafetensorsFile::read(weights);
  train::TrainOptions o = options(dir("start"));
  int checked = 0;
  // Before the first update every parameter is the file's, value for value.
  o.after_backward = [&](int64_t, int64_t step, nn::Module& model) {
    if (step != 1) return;
    for (const auto& [name, t] : model.named_parameters()) {
      EXPECT_EQ(t.to_vector(), file.to_f32(name)) << name;
      ++checked;
    }
  };
  const train::TrainResult result = train::train(make_config(weights), o);
  EXPECT_EQ(result.state, "finished");
  EXPECT_EQ(checked, 2 * 8 + 2 * 8 + 2);  // 8 convolutions and batch norms (weight, bias), the classifier

  const std::string digest = sha256_of(weights);
  const config::ExperimentConfig written = config::load_run_config(dir("start") + "/config.yaml");
  EXPECT_EQ(written.model.init_from, weights);
  EXPECT_EQ(written.model.init_from_sha256, digest);
  EXPECT_EQ(recorded_digest(dir("start") + "/last.safetensors"), config::write_text(digest));

  // The digest is of the contents: the same run from a copy elsewhere computes the same numbers, and
  // records the same digest under another path.
  fs::copy_file(weights, root_ + "/copy.safetensors");
  train::train(make_config(root_ + "/copy.safetensors"), options(dir("copy")));
  EXPECT_EQ(metrics_without_times(dir("copy")), metrics_without_times(dir("start")));
  EXPECT_EQ(config::diff_keys(written, config::load_run_config(dir("copy") + "/config.yaml")),
            std::vector<std::string>{"model.init_from"});

  // Weights of another draw: another run, another digest.
  const std::string other = write_weights("other.safetensors", 78);
  train::train(make_config(other), options(dir("other")));
  EXPECT_NE(metrics_without_times(dir("other")), metrics_without_times(dir("start")));
  EXPECT_EQ(config::load_run_config(dir("other") + "/config.yaml").model.init_from_sha256, sha256_of(other));
}

TEST_F(TrainInitFrom, APinnedDigestThatDoesNotMatchStopsTheRunBeforeAnythingIsWritten) {
  const std::string weights = write_weights("pinned.safetensors", 5);
  config::ExperimentConfig config = make_config(weights);
  config.model.init_from_sha256 = std::string(64, '0');
  try {
    train::train(config, options(dir("pinned")));
    FAIL() << "trained from a file with another digest";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.init_from_sha256: " + weights + " has SHA-256 " + sha256_of(weights)),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir("pinned")));
  config.model.init_from_sha256 = sha256_of(weights);
  EXPECT_EQ(train::train(config, options(dir("pinned"))).state, "finished");
}

// A resume continues from the checkpoint and never reads the file: deleted, it is not missed, and the
// run ends as an uninterrupted one. The path may be changed (--set), the digest may not.
TEST_F(TrainInitFrom, AResumeNeedsNoFileButKeepsItsDigest) {
  const std::string weights = write_weights("resume.safetensors", 9);
  train::train(make_config(weights), options(dir("whole")));

  train::TrainOptions interrupted = options(dir("resumed"));
  interrupted.after_step = [](int64_t, int64_t step) {
    if (step == 4) std::raise(SIGINT);
  };
  EXPECT_EQ(train::train(make_config(weights), interrupted).state, "interrupted");
  fs::remove(weights);
  EXPECT_EQ(train::resume(dir("resumed"), {}, options(dir("resumed"))).state, "finished");
  EXPECT_EQ(metrics_without_times(dir("resumed")), metrics_without_times(dir("whole")));

  // Where the file is now: a free key.
  EXPECT_EQ(train::resume(dir("resumed"), {"model.init_from=/moved/resume.safetensors", "train.epochs=3"},
                          options(dir("resumed")))
                .state,
            "finished");
  EXPECT_EQ(config::load_run_config(dir("resumed") + "/config.yaml").model.init_from, "/moved/resume.safetensors");

  // What the file held: config.yaml edited by hand is refused, naming the key and both digests.
  const std::string config_path = dir("resumed") + "/config.yaml";
  config::ExperimentConfig edited = config::load_run_config(config_path);
  const std::string recorded = edited.model.init_from_sha256;
  edited.model.init_from_sha256 = std::string(64, 'f');
  io::write_file_atomic(config_path, config::to_yaml(edited));
  try {
    train::resume(dir("resumed"), {"train.epochs=4"}, options(dir("resumed")));
    FAIL() << "resumed with another digest";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("model.init_from_sha256"), std::string::npos) << message;
    EXPECT_NE(message.find(recorded), std::string::npos) << message;
  }
}

// A sweep compares its cells with run directories by the digest of the file each cell names now.
TEST_F(TrainInitFrom, ASweepNeverTakesARunOfOtherContentsForItsCell) {
  const std::string weights = write_weights("sweep.safetensors", 21);
  const std::string grid = root_ + "/grid.yaml";
  std::ofstream(grid) << config_text(weights) << "sweep: {seed: [3]}\n";
  const sweep::SweepPlan plan = sweep::plan_sweep(grid, {}, root_ + "/sweep-runs");
  ASSERT_EQ(plan.cells.size(), 1u);
  const sweep::SweepCell& cell = plan.cells[0];
  EXPECT_EQ(cell.config.model.init_from_sha256, sha256_of(weights));
  train::train(cell.config, options(cell.run_dir));
  EXPECT_EQ(sweep::inspect_run(cell.run_dir, cell.config).state, sweep::RunState::finished);

  // The file now holds other weights: the cell is another experiment, and the run is not its.
  fs::copy_file(write_weights("replacement.safetensors", 22), weights, fs::copy_options::overwrite_existing);
  const sweep::SweepPlan replanned = sweep::plan_sweep(grid, {}, root_ + "/sweep-runs");
  const sweep::RunInspection state = sweep::inspect_run(cell.run_dir, replanned.cells[0].config);
  EXPECT_EQ(state.state, sweep::RunState::conflict);
  EXPECT_NE(state.detail.find("model.init_from_sha256"), std::string::npos) << state.detail;

  // A file the sweep cannot read stops it before anything runs, naming the cell and the key.
  fs::remove(weights);
  try {
    sweep::plan_sweep(grid, {}, root_ + "/sweep-runs");
    FAIL() << "planned a sweep whose init_from file is missing";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sweep cell 0 (seed=3): model.init_from: "), std::string::npos) << e.what();
  }
}

}  // namespace
