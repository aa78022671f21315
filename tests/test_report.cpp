// `sugar report`'s library: Student-t quantiles against closed forms, reading run directories
// (strict CSV parsing with file:line errors, unfinished runs), and the aggregation against means,
// sample standard deviations, paired differences and confidence intervals computed by hand from
// hand-written config.yaml / metrics.csv / status.json / neurons.csv files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/error.hpp"
#include "sugar/report/aggregate.hpp"
#include "sugar/report/report_dir.hpp"
#include "sugar/report/report_text.hpp"
#include "sugar/report/run_data.hpp"
#include "sugar/report/statistics.hpp"
#include "support/error_of.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;
using namespace sugar::report;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sugar-report-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string path(const std::string& name = "") const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

using testkit::error_of;

const std::string kHeader =
    "epoch,train_loss,train_top1,eval_loss,eval_top1,eval_top5,lr,epoch_time_s,train_imgs_per_sec,eval_split\n";

// A metrics.csv in the trainer's format with the given eval_top1 and train_loss per epoch (1, 2, ...).
std::string metrics(const std::vector<double>& top1, const std::vector<double>& loss, const std::string& split = "test") {
  std::string text = kHeader;
  for (size_t i = 0; i < top1.size(); ++i) {
    char row[256];
    std::snprintf(row, sizeof row, "%zu,%.6f,50.0000,1.000000,%.4f,99.0000,0.1,1.000,100.00,%s\n", i + 1, loss[i],
                  top1[i], split.c_str());
    text += row;
  }
  return text;
}

const std::string kSugar = "sugar(surrogate=bsilu)";

struct RunSpec {
  std::string dir;
  std::string activation;
  int seed;
  std::vector<double> top1, loss;
  std::string state = "finished";
  std::string extra_config;  // more YAML lines
  std::string name = "";     // config name; default = dir
  std::string neurons;       // neurons.csv text; empty = none
};

void write_run(const std::string& root, const RunSpec& run) {
  const std::string dir = (fs::path(root) / run.dir).string();
  write(dir + "/config.yaml", "name: " + (run.name.empty() ? run.dir : run.name) + "\nseed: " +
                                  std::to_string(run.seed) + "\nmodel: {name: resnet18, activation: \"" +
                                  run.activation + "\"}\ndata: {name: cifar10}\ntrain: {epochs: 4}\n" +
                                  run.extra_config);
  write(dir + "/metrics.csv", metrics(run.top1, run.loss));
  write(dir + "/status.json", "{\"state\": \"" + run.state + "\", \"epoch\": " + std::to_string(run.top1.size()) +
                                  ", \"epochs\": 4}");
  if (!run.neurons.empty()) write(dir + "/neurons.csv", run.neurons);
}

std::string neurons(double dead_end) {
  // Epoch 1 has other values: only the last epoch counts.
  char text[512];
  std::snprintf(text, sizeof text,
                "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction\n"
                "1,layer1.0.act1,0.9,0.5,1.0,0.5\n1,layer1.0.act2,0.9,0.5,1.0,0.5\n"
                "4,layer1.0.act1,%.2f,0.5,1.0,0.5\n4,layer1.0.act2,0.00,0.4,2.0,0.9\n",
                dead_end);
  return text;
}

// Two activations x three seeds, finished, plus unfinished runs. Directory names are ordered so that
// pairing runs by directory order instead of by seed would give other differences.
//
//   eval_top1 per epoch                       final   train_loss at epoch 4
//   relu  seed 2 (a_…, name and threads differ) 54 64 74 84   84      0.6
//   relu  seed 0                                50 60 70 80   80      0.8
//   relu  seed 1                                52 62 72 82   82      0.7
//   sugar seed 1                              61.5 71.5 81.5 86.5  86.5
//   sugar seed 0                                60 70 80 85   85
//   sugar seed 2                                63 73 83 88   88
void write_grid(const std::string& root) {
  const std::vector<double> loss_a{2.0, 1.5, 1.0, 0.6}, loss_b{2.2, 1.7, 1.2, 0.8}, loss_c{2.1, 1.6, 1.1, 0.7};
  write_run(root, {"a_relu_s2", "relu", 2, {54, 64, 74, 84}, loss_a, "finished", "", "renamed", neurons(0.50)});
  // threads differ: not a different configuration.
  write_run(root, {"b_relu_s0", "relu", 0, {50, 60, 70, 80}, loss_b, "finished", "", "", neurons(0.30)});
  write_run(root, {"c_relu_s1", "relu", 1, {52, 62, 72, 82}, loss_c, "finished", "", "", neurons(0.40)});
  write_run(root, {"d_sugar_s1", kSugar, 1, {61.5, 71.5, 81.5, 86.5}, loss_a, "finished", "", "", neurons(0.10)});
  write_run(root, {"e_sugar_s0", kSugar, 0, {60, 70, 80, 85}, loss_b, "finished", "", "", neurons(0.05)});
  write_run(root, {"f_sugar_s2", kSugar, 2, {63, 73, 83, 88}, loss_c, "finished", "", "", neurons(0.15)});
  // Unfinished: interrupted (its 95% must not leak into any mean), and a run whose status says
  // finished while metrics.csv has fewer epochs than train.epochs.
  write_run(root, {"g_sugar_s3", kSugar, 3, {90, 95}, {1.0, 0.5}, "interrupted"});
  write_run(root, {"h_relu_s3", "relu", 3, {99, 99, 99}, {1, 1, 1}, "finished"});
  // Different thread count in one run of the relu group (a non-math key).
  write(root + "/b_relu_s0/config.yaml",
        "name: b_relu_s0\nseed: 0\nmodel: {name: resnet18, activation: relu}\ndata: {name: cifar10}\n"
        "train: {epochs: 4, threads: 2, eval_batch_size: 100}\n");
}

std::vector<RunData> load(const std::vector<std::string>& paths) {
  std::vector<RunData> runs;
  for (const std::string& dir : find_run_dirs(paths)) runs.push_back(load_run(dir));
  return runs;
}

const Group& group_with(const Report& report, const std::string& activation, size_t skip = 0) {
  for (const Group& g : report.groups)
    if (g.activation == activation && skip-- == 0) return g;
  throw std::runtime_error("no group " + activation);
}

// ---- statistics --------------------------------------------------------------------------------

TEST(ReportStatistics, StudentTQuantileMatchesClosedForms) {
  // dof 1 (Cauchy): t = tan(pi (p - 1/2)); t(0.975) = tan(0.475 pi) = 12.7062047...
  EXPECT_NEAR(student_t_quantile(0.975, 1), std::tan(0.475 * std::numbers::pi), 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736, 1e-8);
  // dof 2: t = (2p - 1) / sqrt(2 p (1 - p)); t(0.975) = 0.95 / sqrt(0.04875) = 4.30265273
  EXPECT_NEAR(student_t_quantile(0.975, 2), 0.95 / std::sqrt(2 * 0.975 * 0.025), 1e-9);
  // dof 4: with a = 4p(1-p), q = cos(arccos(sqrt(a)) / 3) / sqrt(a), t = 2 sqrt(q - 1) = 2.77644511
  const double a = 4 * 0.975 * 0.025;
  const double q = std::cos(std::acos(std::sqrt(a)) / 3) / std::sqrt(a);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2 * std::sqrt(q - 1), 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776, 5e-4);
  // Printed tables: t(0.975, 30) = 2.042, t(0.995, 10) = 3.169.
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.995, 10), 3.169, 5e-4);
  // Symmetry and the median.
  EXPECT_NEAR(student_t_quantile(0.025, 4), -student_t_quantile(0.975, 4), 1e-12);
  EXPECT_EQ(student_t_quantile(0.5, 7), 0.0);
  // Many degrees of freedom approach the normal quantile 1.959964.
  EXPECT_NEAR(student_t_quantile(0.975, 100000), 1.959964, 1e-4);
}

TEST(ReportStatistics, IncompleteBetaAndCdf) {
  // I_x(1, 1) = x; I_x(2, 3) = sum_{j=2..4} C(4,j) x^j (1-x)^(4-j): at 0.3, 6*.09*.49 + 4*.027*.7 + .0081 = .3483
  EXPECT_NEAR(incomplete_beta(1, 1, 0.37), 0.37, 1e-13);
  EXPECT_NEAR(incomplete_beta(2, 3, 0.3), 0.3483, 1e-12);
  EXPECT_NEAR(incomplete_beta(3, 2, 0.7), 1 - 0.3483, 1e-12);  // I_x(a,b) = 1 - I_{1-x}(b,a)
  EXPECT_EQ(student_t_cdf(0, 3), 0.5);
  // dof 1: CDF = 1/2 + atan(t) / pi.
  EXPECT_NEAR(student_t_cdf(1.5, 1), 0.5 + std::atan(1.5) / std::numbers::pi, 1e-12);
  EXPECT_NEAR(student_t_cdf(-1.5, 1), 0.5 - std::atan(1.5) / std::numbers::pi, 1e-12);
  EXPECT_THROW(student_t_quantile(1.0, 3), Error);
  EXPECT_THROW(student_t_quantile(0.9, 0), Error);
}

TEST(ReportStatistics, MeanStdAndPairedDifference) {
  // 80, 82, 84: mean 82; deviations -2, 0, 2; sample variance (4 + 0 + 4) / 2 = 4; std 2.
  EXPECT_DOUBLE_EQ(mean({80, 82, 84}), 82);
  EXPECT_DOUBLE_EQ(sample_std({80, 82, 84}), 2);
  EXPECT_TRUE(std::isnan(sample_std({80})));
  EXPECT_TRUE(std::isnan(mean({})));
  // Differences 5, 4.5, 4: mean 4.5, std 0.5, half width t(0.975, 2) * 0.5 / sqrt(3) = 1.24206886.
  const PairedDifference d = paired_difference({80, 82, 84}, {85, 86.5, 88});
  EXPECT_EQ(d.n, 3);
  EXPECT_NEAR(d.mean, 4.5, 1e-12);
  EXPECT_NEAR(d.std, 0.5, 1e-12);
  EXPECT_NEAR(d.ci_low, 4.5 - 1.2420688558751656, 1e-9);
  EXPECT_NEAR(d.ci_high, 4.5 + 1.2420688558751656, 1e-9);
  // One pair: a difference, no interval.
  const PairedDifference one = paired_difference({80}, {85});
  EXPECT_EQ(one.mean, 5);
  EXPECT_TRUE(std::isnan(one.ci_low) && std::isnan(one.ci_high));
  EXPECT_THROW(paired_difference({1, 2}, {1}), Error);
}

// ---- reading runs ------------------------------------------------------------------------------

TEST(ReportRunData, ReadsMetricsWithSkippedEvaluations) {
  TempDir tmp;
  // eval_every 2: epoch 1 has empty eval cells; a trailing \r and a blank line are tolerated.
  write(tmp.path("m.csv"), kHeader + "1,2.000000,30.0000,,,,0.1,1.000,100.00,\r\n\n" +
                               "2,1.500000,40.0000,1.200000,55.5000,90.0000,0.1,1.000,100.00,val\n");
  const std::vector<MetricsRow> rows = read_metrics_csv(tmp.path("m.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].epoch, 1);
  EXPECT_FALSE(rows[0].evaluated);
  EXPECT_EQ(rows[0].train_loss, 2.0);
  EXPECT_TRUE(rows[1].evaluated);
  EXPECT_EQ(rows[1].eval_top1, 55.5);
  EXPECT_EQ(rows[1].eval_split, "val");
}

TEST(ReportRunData, CorruptMetricsNameFileAndLine) {
  TempDir tmp;
  const std::string path = tmp.path("metrics.csv");
  write(path, kHeader + "1,2.0,30,1.0,50,90,0.1,1,100,test\n2,1.5,40,1.0,abc,90,0.1,1,100,test\n");
  auto [message, kind] = error_of([&] { read_metrics_csv(path); });
  EXPECT_EQ(message, path + ":3: eval_top1: 'abc' is not a number");
  EXPECT_EQ(kind, ErrorKind::runtime);

  write(path, kHeader + "1,2.0,30,1.0,50,90\n");
  EXPECT_EQ(error_of([&] { read_metrics_csv(path); }).first,
            path + ":2: expected 10 cells (as in the header), got 6");
  write(path, kHeader + "2,2.0,30,1.0,50,90,0.1,1,100,test\n2,2.0,30,1.0,50,90,0.1,1,100,test\n");
  EXPECT_EQ(error_of([&] { read_metrics_csv(path); }).first, path + ":3: epoch 2 does not follow epoch 2");
  write(path, kHeader + "1,2.0,30,1.0,50,90,0.1,1,100,train\n");
  EXPECT_EQ(error_of([&] { read_metrics_csv(path); }).first, path + ":2: eval_split: 'train' is neither val nor test");
  write(path, "epoch,loss\n1,2\n");
  EXPECT_EQ(error_of([&] { read_metrics_csv(path); }).first, path + ":1: the header has no column 'train_loss'");
  write(path, "");
  EXPECT_NE(error_of([&] { read_metrics_csv(path); }).first.find(path + ":1: empty file"), std::string::npos);
}

TEST(ReportRunData, NeuronsCsv) {
  TempDir tmp;
  const std::string path = tmp.path("neurons.csv");
  write(path, neurons(0.25));
  const std::vector<NeuronRow> rows = read_neurons_csv(path);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[2].epoch, 4);
  EXPECT_EQ(rows[2].site, "layer1.0.act1");
  EXPECT_EQ(rows[2].dead_fraction, 0.25);
  EXPECT_EQ(rows[3].grad_norm, 2.0);
  EXPECT_EQ(rows[3].grad_nonzero_fraction, 0.9);
  // A site that saw no input writes nan in its fractions: read as NaN, not an error.
  write(path, "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction\n3,fc.act,nan,nan,0,0\n");
  EXPECT_TRUE(std::isnan(read_neurons_csv(path).at(0).dead_fraction));
  write(path, "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction\n1,conv1,1.5,0,0,0\n");
  EXPECT_EQ(error_of([&] { read_neurons_csv(path); }).first,
            path + ":2: dead_fraction: 1.5 is not a fraction in [0, 1]");
}

TEST(ReportRunData, FindsRunsRecursivelyAndSaysWhyRunsAreUnfinished) {
  TempDir tmp;
  write_grid(tmp.path("runs"));
  // A run without metrics.csv yet and status running; a folder that is not a run.
  write(tmp.path("runs/nested/deeper/i_new/config.yaml"), "seed: 5\ntrain: {epochs: 4}\n");
  write(tmp.path("runs/nested/deeper/i_new/status.json"), "{\"state\": \"running\"}");
  write(tmp.path("runs/notes/readme.txt"), "not a run");

  // The same run named twice (directly and through its folder) counts once.
  const std::vector<std::string> dirs = find_run_dirs({tmp.path("runs"), tmp.path("runs/a_relu_s2")});
  ASSERT_EQ(dirs.size(), 9u);
  EXPECT_EQ(dirs.front(), tmp.path("runs/a_relu_s2"));
  EXPECT_EQ(dirs.back(), tmp.path("runs/nested/deeper/i_new"));

  EXPECT_EQ(load_run(tmp.path("runs/a_relu_s2")).unfinished_reason, "");
  EXPECT_EQ(load_run(tmp.path("runs/g_sugar_s3")).unfinished_reason, "interrupted after 2 of 4 epochs");
  EXPECT_EQ(load_run(tmp.path("runs/h_relu_s3")).unfinished_reason, "status finished but metrics.csv has 3 of 4 epochs");
  EXPECT_EQ(load_run(tmp.path("runs/nested/deeper/i_new")).unfinished_reason, "running after 0 of 4 epochs");
  fs::remove(tmp.path("runs/a_relu_s2/status.json"));
  EXPECT_EQ(load_run(tmp.path("runs/a_relu_s2")).unfinished_reason, "no status.json, 4 of 4 epochs");

  EXPECT_EQ(error_of([&] { find_run_dirs({tmp.path("runs/notes")}); }).second, ErrorKind::usage);
  EXPECT_EQ(error_of([&] { find_run_dirs({tmp.path("missing")}); }).first,
            "report: '" + tmp.path("missing") + "' does not exist");
  write(tmp.path("runs/b_relu_s0/status.json"), "{\"state\": ");
  EXPECT_EQ(error_of([&] { load_run(tmp.path("runs/b_relu_s0")); }).second, ErrorKind::runtime);
}

// ---- aggregation -------------------------------------------------------------------------------

TEST(ReportAggregate, MeansStdsPairedDifferencesAndTargetEpoch) {
  TempDir tmp;
  write_grid(tmp.path("runs"));
  const std::vector<RunData> runs = load({tmp.path("runs")});
  ReportOptions options;
  options.target_acc = 75;
  const Report report = build_report(runs, options);

  // One configuration per activation: the name, threads and eval batch size of a_… and b_… do not
  // split the relu group. Only model.activation differs, so it is the only column.
  ASSERT_EQ(report.groups.size(), 2u);
  EXPECT_EQ(report.columns, std::vector<std::string>{"model.activation"});
  const std::string sugar = activations::ActivationSpec::parse(kSugar).to_string();
  const Group& relu = report.groups[0];  // the baseline first
  const Group& sug = report.groups[1];
  EXPECT_EQ(relu.activation, "relu");
  EXPECT_EQ(sug.activation, sugar);
  EXPECT_EQ(sug.values, std::vector<std::string>{sugar});

  // relu: 80, 82, 84 -> mean 82, std sqrt((4 + 0 + 4) / 2) = 2.
  EXPECT_EQ(relu.seeds, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(relu.final_top1, (std::vector<double>{80, 82, 84}));
  EXPECT_NEAR(relu.final_top1_mean, 82, 1e-12);
  EXPECT_NEAR(relu.final_top1_std, 2, 1e-12);
  // sugar (the interrupted seed 3 at 95% left out): 85, 86.5, 88 -> mean 86.5,
  // std sqrt((2.25 + 0 + 2.25) / 2) = 1.5.
  EXPECT_EQ(sug.seeds, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_NEAR(sug.final_top1_mean, 86.5, 1e-12);
  EXPECT_NEAR(sug.final_top1_std, 1.5, 1e-12);
  // Final train loss of relu: 0.8 (seed 0), 0.7 (seed 1), 0.6 (seed 2) -> mean 0.7, std 0.1.
  EXPECT_NEAR(relu.final_train_loss_mean, 0.7, 1e-12);
  EXPECT_NEAR(relu.final_train_loss_std, 0.1, 1e-12);
  // No validation split: no selected accuracy.
  EXPECT_EQ(relu.eval_split, "test");
  EXPECT_TRUE(relu.best_val_top1.empty());

  // Paired by seed: 85-80 = 5, 86.5-82 = 4.5, 88-84 = 4 -> mean 4.5, std 0.5;
  // 95% CI 4.5 -/+ t(0.975, 2) * 0.5 / sqrt(3) = 4.5 -/+ 4.30265273 * 0.28867513 = [3.25793114, 5.74206886].
  // (Pairing in directory order would give 86.5-84, 85-80, 88-82 = 2.5, 5, 6.)
  EXPECT_FALSE(relu.baseline.has_value());
  ASSERT_TRUE(sug.baseline.has_value());
  EXPECT_EQ(*sug.baseline, 0u);
  EXPECT_EQ(sug.paired_seeds, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(sug.difference.n, 3);
  EXPECT_NEAR(sug.difference.mean, 4.5, 1e-12);
  EXPECT_NEAR(sug.difference.std, 0.5, 1e-12);
  EXPECT_NEAR(sug.difference.ci_low, 3.2579311441248344, 1e-9);
  EXPECT_NEAR(sug.difference.ci_high, 5.742068855875166, 1e-9);

  // Mean curves: relu (50+52+54)/3 = 52, 62, 72, 82 with min 50..max 54 at epoch 1;
  // sugar 61.5, 71.5, 81.5, 86.5. First epoch >= 75: relu 4 (72 < 75 at epoch 3), sugar 3.
  EXPECT_EQ(relu.eval_top1.epochs, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_NEAR(relu.eval_top1.mean[0], 52, 1e-12);
  EXPECT_NEAR(relu.eval_top1.mean[2], 72, 1e-12);
  EXPECT_EQ(relu.eval_top1.min[0], 50);
  EXPECT_EQ(relu.eval_top1.max[0], 54);
  EXPECT_NEAR(relu.train_loss.mean[3], 0.7, 1e-12);
  EXPECT_EQ(relu.target_epoch, 4);
  EXPECT_EQ(sug.target_epoch, 3);

  // Reaching exactly the target counts (72 at epoch 3 for relu); never reaching it gives none.
  options.target_acc = 72;
  EXPECT_EQ(build_report(runs, options).groups[0].target_epoch, 3);
  options.target_acc = 90;
  EXPECT_FALSE(build_report(runs, options).groups[1].target_epoch.has_value());

  // The two unfinished runs are listed, not counted.
  ASSERT_EQ(report.unfinished.size(), 2u);
  EXPECT_EQ(runs[report.unfinished[0]].dir, tmp.path("runs/g_sugar_s3"));
  EXPECT_EQ(runs[report.unfinished[1]].dir, tmp.path("runs/h_relu_s3"));

  // Dead neurons at the last epoch: relu layer1.0.act1 (0.30 + 0.40 + 0.50) / 3 = 0.40, sugar
  // (0.05 + 0.10 + 0.15) / 3 = 0.10; the epoch-1 value 0.9 does not count.
  ASSERT_EQ(relu.dead.size(), 2u);
  EXPECT_EQ(relu.dead[0].site, "layer1.0.act1");
  EXPECT_NEAR(relu.dead[0].mean, 0.40, 1e-12);
  EXPECT_EQ(relu.dead[0].runs, 3);
  EXPECT_EQ(relu.neuron_runs, 3);
  EXPECT_NEAR(sug.dead[0].mean, 0.10, 1e-12);
  EXPECT_EQ(sug.dead[1].mean, 0.0);
}

TEST(ReportAggregate, GroupsByDifferingKeysOnly) {
  TempDir tmp;
  write_grid(tmp.path("runs"));
  // A second learning rate: relu seeds 0 and 1, sugar seed 1 only (+ seed 5, without a relu partner).
  const std::string lr = "optim: {lr: 0.01}\n";
  write_run(tmp.path("runs"), {"lr_relu_s0", "relu", 0, {40, 45, 50, 55}, {1, 1, 1, 1}, "finished", lr});
  write_run(tmp.path("runs"), {"lr_relu_s1", "relu", 1, {41, 46, 51, 57}, {1, 1, 1, 1}, "finished", lr});
  write_run(tmp.path("runs"), {"lr_sugar_s1", kSugar, 1, {50, 55, 60, 60}, {1, 1, 1, 1}, "finished", lr});
  write_run(tmp.path("runs"), {"lr_sugar_s5", kSugar, 5, {50, 55, 60, 70}, {1, 1, 1, 1}, "finished", lr});
  const std::vector<RunData> runs = load({tmp.path("runs")});
  const Report report = build_report(runs);

  // Columns in config order: model.activation before optim.lr. Rows by lr ("0.01" < "0.1"), relu first.
  EXPECT_EQ(report.columns, (std::vector<std::string>{"model.activation", "optim.lr"}));
  ASSERT_EQ(report.groups.size(), 4u);
  EXPECT_EQ(report.groups[0].values[1], "0.01");
  EXPECT_EQ(report.groups[0].activation, "relu");
  EXPECT_EQ(report.groups[2].values[1], "0.1");
  ASSERT_EQ(report.families.size(), 2u);
  EXPECT_EQ(report.families[0].label, "resnet18 / cifar10, optim.lr=0.01");
  EXPECT_EQ(report.families[0].file_stem, "resnet18_cifar10");
  EXPECT_EQ(report.families[1].file_stem, "resnet18_cifar10_2");

  // lr 0.01: relu 55, 57 -> mean 56, std sqrt(2) ; sugar seeds 1 and 5 -> 60, 70, mean 65.
  // The baseline is relu at lr 0.01 (not 0.1): one common seed (1): 60 - 57 = 3, no interval.
  const Group& relu = report.groups[0];
  const Group& sug = report.groups[1];
  EXPECT_NEAR(relu.final_top1_mean, 56, 1e-12);
  EXPECT_NEAR(relu.final_top1_std, std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(sug.final_top1_mean, 65, 1e-12);
  EXPECT_EQ(*sug.baseline, 0u);
  EXPECT_EQ(sug.paired_seeds, std::vector<uint64_t>{1});
  EXPECT_EQ(sug.difference.n, 1);
  EXPECT_NEAR(sug.difference.mean, 3, 1e-12);
  EXPECT_TRUE(std::isnan(sug.difference.ci_low));
  // The lr 0.1 sugar group still pairs with the lr 0.1 relu group: 4.5 as before.
  EXPECT_NEAR(report.groups[3].difference.mean, 4.5, 1e-12);

  // Ignoring optim.lr merges the two learning rates, and then two relu runs share seed 0: an error.
  ReportOptions options;
  options.ignore_keys = {"optim.lr"};
  const auto [message, kind] = error_of([&] { build_report(runs, options); });
  EXPECT_NE(message.find("are the same configuration with the same seed 0"), std::string::npos) << message;
  EXPECT_EQ(kind, ErrorKind::runtime);
  options.ignore_keys = {"model.activation"};
  EXPECT_EQ(error_of([&] { build_report(runs, options); }).second, ErrorKind::usage);
  options.ignore_keys = {"optim.lrr"};
  EXPECT_EQ(error_of([&] { build_report(runs, options); }).first,
            "report --ignore: unknown config key 'optim.lrr'; did you mean optim.lr?");
}

TEST(ReportAggregate, ValidationSplitReportsBestValidationAccuracy) {
  TempDir tmp;
  for (int seed = 0; seed < 2; ++seed) {
    const std::string dir = tmp.path("runs/v" + std::to_string(seed));
    write(dir + "/config.yaml", "seed: " + std::to_string(seed) + "\ndata: {name: cifar10, val_split: 0.1}\ntrain: {epochs: 3}\n");
    // Best val: seed 0 peaks at 70 (epoch 2), seed 1 at 66 (epoch 3): mean 68, std sqrt(8) = 2.828.
    write(dir + "/metrics.csv", seed == 0 ? metrics({60, 70, 65}, {1, 1, 1}, "val") : metrics({50, 60, 66}, {1, 1, 1}, "val"));
    write(dir + "/status.json", "{\"state\": \"finished\"}");
  }
  const Report report = build_report(load({tmp.path("runs")}));
  ASSERT_EQ(report.groups.size(), 1u);
  const Group& g = report.groups[0];
  EXPECT_EQ(g.eval_split, "val");
  EXPECT_NEAR(g.final_top1_mean, 65.5, 1e-12);  // (65 + 66) / 2: the final validation accuracy
  EXPECT_EQ(g.best_val_top1, (std::vector<double>{70, 66}));
  EXPECT_NEAR(g.best_val_top1_mean, 68, 1e-12);
  EXPECT_NEAR(g.best_val_top1_std, std::sqrt(8.0), 1e-12);
}

// ---- text --------------------------------------------------------------------------------------

TEST(ReportText, CsvMarkdownAndTerminal) {
  TempDir tmp;
  write_grid(tmp.path("runs"));
  const std::vector<RunData> runs = load({tmp.path("runs")});
  ReportOptions options;
  options.target_acc = 75;
  const Report report = build_report(runs, options);
  const std::string sugar = activations::ActivationSpec::parse(kSugar).to_string();

  // report.csv: the activation spec holds commas, so it is quoted; numbers in full precision.
  const std::string csv = format_csv(report);
  const std::string header =
      "model.activation,eval_split,n_seeds,seeds,final_top1_mean,final_top1_std,best_val_top1_mean,"
      "best_val_top1_std,final_train_loss_mean,final_train_loss_std,baseline,n_pairs,diff_mean,diff_std,diff_ci_low,"
      "diff_ci_high,confidence,target_acc,target_epoch\n";
  EXPECT_EQ(csv.substr(0, header.size()), header);
  EXPECT_NE(csv.find("\nrelu,test,3,0 1 2,82,2,,,0.7,0.1,,,,,,,0.95,75,4\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n\"" + sugar + "\",test,3,0 1 2,86.5,1.5,,,0.7,0.1,relu,3,4.5,0.5,3.257931144,5.742068856,0.95,75,3\n"),
            std::string::npos)
      << csv;

  const std::string md = format_markdown(report, runs, {{"runs"}, true, ""});
  EXPECT_NE(md.find("| model.activation | split | seeds | final top-1 % | \u0394 vs relu (pp) | 95% CI (pairs) | "
                    "epoch \u2265 75% |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| relu | test | 3 | 82.00 \u00b1 2.00 | baseline | \u2014 | 4 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| " + sugar + " | test | 3 | 86.50 \u00b1 1.50 | +4.50 | [+3.26, +5.74] (3) | 3 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("![eval_top1, resnet18 / cifar10](eval_top1_resnet18_cifar10.png)"), std::string::npos);
  EXPECT_NE(md.find("![train_loss, resnet18 / cifar10](train_loss_resnet18_cifar10.png)"), std::string::npos);
  EXPECT_NE(md.find("| site | relu (3 runs) | " + sugar + " (3 runs) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| layer1.0.act1 | 40.0 | 10.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| " + tmp.path("runs/g_sugar_s3") + " | " + sugar + " | 3 | interrupted after 2 of 4 epochs |"),
            std::string::npos);

  // The terminal table: aligned columns, unfinished runs after it.
  const std::string text = format_terminal(report, runs);
  EXPECT_EQ(text.substr(0, text.find('\n')).find("model.activation"), 0u);
  EXPECT_NE(text.find("relu "), std::string::npos);
  EXPECT_NE(text.find("82.00 \u00b1 2.00"), std::string::npos);
  EXPECT_NE(text.find("Unfinished runs (not in the table):"), std::string::npos);
}

TEST(ReportDir, NeverReplacesFilesItDidNotWrite) {
  TempDir tmp;
  const std::string out = tmp.path("out");
  {
    ReportDir dir(out);
    dir.write("report.md", "one");
    dir.write("eval_top1_old.png", "png");
    dir.finish();
  }
  write(out + "/notes.txt", "mine");
  {
    // A second report replaces report.md, drops the plot it no longer has, keeps notes.txt.
    ReportDir dir(out);
    dir.write("report.md", "two");
    EXPECT_EQ(error_of([&] { dir.write("notes.txt", "x"); }).second, ErrorKind::runtime);
    dir.finish();
  }
  EXPECT_FALSE(fs::exists(out + "/eval_top1_old.png"));
  std::ifstream in(out + "/notes.txt");
  std::string notes;
  in >> notes;
  EXPECT_EQ(notes, "mine");
  // A folder with files but no report manifest is refused before anything is written.
  write(tmp.path("other/data.bin"), "x");
  EXPECT_EQ(error_of([&] { ReportDir dir(tmp.path("other")); }).second, ErrorKind::usage);
  EXPECT_FALSE(fs::exists(tmp.path("other/") + kManifestFile));
}

}  // namespace
