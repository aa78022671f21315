// The trainer's parts that need no training: metrics.csv rows and resume truncation, top-k counting,
// epoch-based schedule fields converted to iterations, the rules for --set on --resume, progress text.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/evaluate.hpp"
#include "sugar/train/metrics_csv.hpp"
#include "sugar/train/progress.hpp"
#include "sugar/run_dir/csv_files.hpp"
#include "sugar/train/resume_plan.hpp"
#include "sugar/train/trainer.hpp"
#include "sugar/train/training_position.hpp"

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using namespace sugar;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sugar-train-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

train::EpochMetrics row(int64_t epoch) {
  train::EpochMetrics m;
  m.epoch = epoch;
  m.train_loss = 2.0 / static_cast<double>(epoch);
  m.train_top1 = 10.0 * static_cast<double>(epoch);
  m.evaluated = true;
  m.eval_loss = 1.234567891;
  m.eval_top1 = 87.65432;
  m.eval_top5 = 99.5;
  m.lr = 0.0125;
  m.epoch_time_s = 12.3456;
  m.train_imgs_per_sec = 99.999;
  m.eval_split = "test";
  return m;
}

TEST(MetricsCsv, HeaderAndRowFormat) {
  EXPECT_EQ(train::MetricsCsv::header_line(),
            "epoch,train_loss,train_top1,eval_loss,eval_top1,eval_top5,lr,epoch_time_s,train_imgs_per_sec,eval_split");
  EXPECT_EQ(train::MetricsCsv::format_row(row(2)), "2,1.000000,20.0000,1.234568,87.6543,99.5000,0.0125,12.346,100.00,test");
  train::EpochMetrics skipped = row(3);
  skipped.evaluated = false;
  EXPECT_EQ(train::MetricsCsv::format_row(skipped), "3,0.666667,30.0000,,,,0.0125,12.346,100.00,");
}

TEST(MetricsCsv, RowsAreOnDiskAsSoonAsAppended) {
  TempDir dir;
  auto csv = train::MetricsCsv::create(dir.file("metrics.csv"));
  csv.append(row(1));
  EXPECT_EQ(io::read_file(dir.file("metrics.csv")),
            train::MetricsCsv::header_line() + "\n" + train::MetricsCsv::format_row(row(1)) + "\n");
}

TEST(MetricsCsv, KeptRowsDropRowsAfterTheCheckpointAndAHalfWrittenLine) {
  TempDir dir;
  const std::string path = dir.file("metrics.csv");
  {
    auto csv = train::MetricsCsv::create(path);
    for (int e = 1; e <= 3; ++e) csv.append(row(e));
  }
  { std::FILE* f = std::fopen(path.c_str(), "a"); std::fputs("4,0.5", f); std::fclose(f); }
  const run_dir::KeptRows kept = run_dir::kept_metrics_rows(path, train::MetricsCsv::header_line(), 2);
  EXPECT_EQ(kept.discarded_epochs, (std::vector<int64_t>{3}));
  EXPECT_EQ(kept.torn_line, 5u);  // header, three rows, then the torn one
  io::write_file_atomic(path, kept.text);
  {
    auto csv = train::MetricsCsv::append_to(path);
    csv.append(row(3));
  }
  const std::string h = train::MetricsCsv::header_line() + "\n";
  EXPECT_EQ(io::read_file(path), h + train::MetricsCsv::format_row(row(1)) + "\n" + train::MetricsCsv::format_row(row(2)) +
                                     "\n" + train::MetricsCsv::format_row(row(3)) + "\n");
  // Fewer rows than the checkpoint's epochs, a row that does not parse, or a foreign header: errors
  // naming the file (and the line).
  EXPECT_THROW(run_dir::kept_metrics_rows(path, train::MetricsCsv::header_line(), 5), Error);
  const std::string good = io::read_file(path);
  io::write_file_atomic(path, good + "4,abc,1,,,,0.1,1,1,\n");
  try {
    run_dir::kept_metrics_rows(path, train::MetricsCsv::header_line(), 3);
    FAIL() << "a row with 'abc' as its loss was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":5: train_loss: 'abc' is not a number"), std::string::npos) << e.what();
  }
  io::write_file_atomic(path, std::string("epoch,loss\n1,2\n"));
  try {
    run_dir::kept_metrics_rows(path, train::MetricsCsv::header_line(), 1);
    FAIL() << "a foreign header was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":1: unexpected header"), std::string::npos) << e.what();
  }
}

TEST(Evaluate, CountTopKRanksTiesByClassIndex) {
  // Row 0: label 2 is the largest -> top-1. Row 1: label 0 is third -> top-3 only.
  // Row 2: all equal -> label 1 has rank 1 (class 0 comes first).
  const std::vector<float> logits{0.1f, 0.2f, 0.9f, 0.0f,  //
                                  0.3f, 0.5f, 0.4f, 0.1f,  //
                                  1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<int32_t> labels{2, 0, 1};
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 1), 1);
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 2), 2);
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 3), 3);
  EXPECT_THROW(train::count_top_k(logits, 5, labels, 1), Error);
}

TEST(Evaluate, ARowWithANonFiniteLogitIsNeverAHit) {
  // NaN compares false with everything, so a naive rank count puts a NaN row's label first. Row 0: a
  // NaN elsewhere; row 1: the label's own logit is NaN; row 2: +Inf on the label; row 3: finite, label
  // second of four.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits{0.9f, nan, 0.1f, 0.2f,  //
                                  nan, 0.5f, 0.4f, 0.1f,  //
                                  0.0f, inf, 0.3f, 0.2f,  //
                                  0.7f, 0.8f, 0.1f, 0.0f};
  const std::vector<int32_t> labels{0, 0, 1, 0};
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 1), 0);
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 2), 1);  // only row 3
  EXPECT_EQ(train::count_top_k(logits, 4, labels, 4), 1);
  EXPECT_EQ(train::count_nonfinite_rows(logits, 4), 3);
  const std::vector<float> all_nan(8, nan);
  EXPECT_EQ(train::count_top_k(all_nan, 4, {0, 3}, 4), 0);
  EXPECT_EQ(train::count_nonfinite_rows(all_nan, 4), 2);
}

TEST(Builders, EpochScheduleFieldsAreConvertedToIterations) {
  config::ExperimentConfig c = config::load_config_text("name: x\n", "x.yaml");
  c.optim.lr = 0.1;
  c.train.epochs = 4;
  const int64_t ipe = 10;  // iterations per epoch
  c.schedule.name = sugar::optim::ScheduleKind::cosine;
  c.schedule.warmup_epochs = 1;
  optim::LrSchedule cosine = train::build_schedule(c, ipe);
  // Warm-up over 10 iterations from lr/3, then a cosine over the remaining 30: the middle is lr/2.
  EXPECT_NEAR(cosine.lr(0), 0.1 / 3.0, 1e-12);
  EXPECT_NEAR(cosine.lr(10), 0.1, 1e-12);
  EXPECT_NEAR(cosine.lr(25), 0.05, 1e-12);
  EXPECT_NEAR(cosine.lr(40), 0.0, 1e-12);

  c.schedule.name = sugar::optim::ScheduleKind::step;
  c.schedule.step_size = 2;
  c.schedule.gamma = 0.5;
  optim::LrSchedule step = train::build_schedule(c, ipe);
  EXPECT_DOUBLE_EQ(step.lr(19), 0.1);
  EXPECT_DOUBLE_EQ(step.lr(20), 0.05);

  c.schedule.name = sugar::optim::ScheduleKind::multistep;
  c.schedule.milestones = {1, 3};
  optim::LrSchedule multistep = train::build_schedule(c, ipe);
  EXPECT_DOUBLE_EQ(multistep.lr(9), 0.1);
  EXPECT_DOUBLE_EQ(multistep.lr(10), 0.05);
  EXPECT_DOUBLE_EQ(multistep.lr(30), 0.025);

  c.schedule.name = sugar::optim::ScheduleKind::one_cycle;
  optim::LrSchedule cycle = train::build_schedule(c, ipe);
  EXPECT_NEAR(cycle.lr(0), 0.1 / 25.0, 1e-12);
  EXPECT_NEAR(cycle.lr(11), 0.1, 1e-12);  // PyTorch's peak: step pct_start * total_steps - 1 = 0.3 * 40 - 1
}

TEST(Resume, NonMathKeysAndEpochExtensionsUnderAConstantScheduleAreAccepted) {
  const config::ExperimentConfig base = config::load_config_text("name: x\nschedule: {name: constant}\n", "x.yaml");
  config::ExperimentConfig changed = base;
  changed.train.threads = 7;
  changed.train.eval_batch_size = 17;
  changed.train.epochs = base.train.epochs + 10;
  EXPECT_NO_THROW(train::check_resume_changes(base, changed, 3));
}

TEST(Resume, MathChangesAreRefusedNamingTheKeys) {
  const config::ExperimentConfig base = config::load_config_text("name: x\n", "x.yaml");  // cosine by default
  config::ExperimentConfig changed = base;
  changed.optim.lr = 0.5;
  changed.seed = 3;
  try {
    train::check_resume_changes(base, changed, 1);
    FAIL() << "a change of lr and seed was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("cannot change seed, optim.lr"), std::string::npos) << e.what();
  }
  config::ExperimentConfig longer = base;
  longer.train.epochs += 1;
  try {
    train::check_resume_changes(base, longer, 1);
    FAIL() << "extending a cosine schedule was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cosine"), std::string::npos) << e.what();
  }
  config::ExperimentConfig constant = config::load_config_text("name: x\nschedule: {name: constant}\ntrain: {epochs: 5}\n", "x.yaml");
  config::ExperimentConfig shorter = constant;
  shorter.train.epochs = 2;
  EXPECT_THROW(train::check_resume_changes(constant, shorter, 3), Error);
  EXPECT_NO_THROW(train::check_resume_changes(constant, shorter, 2));
}

// A checkpoint written before model.init existed was trained with torchvision's init: resuming it
// under today's default (pytorch_default) is a change of the math, under torchvision it is not.
TEST(Resume, ACheckpointFromBeforeModelInitExistedCountsAsTorchvision) {
  config::ExperimentConfig config = config::load_config_text("name: x\n", "x.yaml");
  config.model.init = sugar::nn::init::ConvInit::torchvision;
  nlohmann::json recorded;
  for (const auto& [key, value] : config::math_values(config))
    if (key != "model.init") recorded[key] = value;  // what an older Sugar recorded
  const io::Metadata metadata{{"config_math", recorded.dump()}};
  const auto values = train::recorded_math_values(metadata, "old.safetensors");
  ASSERT_TRUE(values.has_value());
  EXPECT_EQ(values->at("model.init"), "torchvision");
  EXPECT_TRUE(train::config_differences(metadata, config, "old.safetensors", {}).empty());
  config.model.init = sugar::nn::init::ConvInit::pytorch_default;
  const auto differences = train::config_differences(metadata, config, "old.safetensors", {});
  ASSERT_EQ(differences.size(), 1u);
  EXPECT_EQ(differences[0].key, "model.init");
}

TEST(Progress, DurationsAndSummaryText) {
  EXPECT_EQ(train::format_duration(0), "0:00");
  EXPECT_EQ(train::format_duration(187.4), "3:07");
  EXPECT_EQ(train::format_duration(3909), "1:05:09");
  EXPECT_EQ(train::format_duration(NAN), "?");
  train::EpochProgress progress("epoch 1/3", 10, false, nullptr);
  const std::string text = progress.summary(0, 0, 0.5, 12.5);
  EXPECT_EQ(text.substr(0, 40), "epoch 1/3 0/10  loss 0.5000  acc 12.5%  ");
  EXPECT_NE(text.find("ETA ?"), std::string::npos) << text;
}

}  // namespace
