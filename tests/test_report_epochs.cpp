// `sugar report` over the epochs: per-epoch spread of the test top-1 and of the train/test gap over
// seeds, the largest fall of one seed's test accuracy, and every activation site's dead fraction and
// gradient reach per epoch, against means, sample stds and ranges computed by hand below; and how they
// read in report.md, epochs.csv and sites.csv.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/report/aggregate.hpp"
#include "sugar/report/curves.hpp"
#include "sugar/report/report_text.hpp"

namespace {

using namespace sugar;
using namespace sugar::report;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One epoch of a hand-made run: test top-1 (nullopt: not evaluated that epoch), train top-1.
struct Epoch {
  std::optional<double> eval;
  double train;
};

// A finished relu run in memory with train_loss 2.0, 1.5, 1.0, ... and the given neurons.csv rows.
RunData run(int seed, const std::vector<Epoch>& epochs, const std::vector<NeuronRow>& neurons = {}) {
  RunData r;
  r.config = config::load_config_text("seed: " + std::to_string(seed) + "\ntrain: {epochs: " +
                                          std::to_string(epochs.size()) + "}\n",
                                      "run.yaml");
  r.dir = "run-" + std::to_string(seed);
  r.state = "finished";
  for (size_t i = 0; i < epochs.size(); ++i) {
    MetricsRow row;
    row.epoch = static_cast<int64_t>(i) + 1;
    row.train_loss = 2.0 - 0.5 * static_cast<double>(i);
    row.train_top1 = epochs[i].train;
    row.evaluated = epochs[i].eval.has_value();
    row.eval_top1 = epochs[i].eval.value_or(0);
    row.eval_split = row.evaluated ? "test" : "";
    r.metrics.push_back(row);
  }
  r.neurons = neurons;
  return r;
}

NeuronRow neuron(int64_t epoch, const std::string& site, double dead, double reach) {
  NeuronRow row;
  row.epoch = epoch;
  row.site = site;
  row.dead_fraction = dead;
  row.grad_nonzero_fraction = reach;
  return row;
}

// Three seeds of one configuration (seed 2 with eval_every 2, a key that does not split groups):
//   seed   test top-1 (epochs 1, 2, 3)   train top-1   gap (train - test)
//   0      50  70  50                    55  75  90     5   5  40
//   1      60  62  64                    60  70  80     0   8  16
//   2      70   -  45                    65  72  85    -5   -  40
// Test top-1: epoch 1 {50, 60, 70} mean 60, std 10; epoch 2 {70, 62} mean 66, std sqrt(32) = 5.657;
// epoch 3 {50, 64, 45} mean 53, std sqrt((9 + 121 + 64) / 2) = sqrt(97) = 9.849.
// Gap: epoch 1 {5, 0, -5} mean 0, std 5; epoch 2 {5, 8} mean 6.5, std sqrt(4.5) = 2.121; epoch 3
// {40, 16, 40} mean 32, std sqrt((64 + 256 + 64) / 2) = sqrt(192) = 13.856.
// Falls: seed 0 70 -> 50 (epoch 2 -> 3, -20); seed 2 70 -> 45 across the unevaluated epoch 2 (1 -> 3,
// -25, the largest); seed 1 never falls.
// neurons.csv (dead, reach): seed 0 epoch 1 conv1 (0.5, 0.9), fc (NaN: no input, 0.2); epoch 2 conv1
// (0.3, 0.8), fc (0.1, 0.4). Seed 1 epoch 1 only: conv1 (0.1, 1.0), fc (0.2, 0.6). Seed 2: none.
std::vector<RunData> three_seeds() {
  std::vector<RunData> runs{
      run(0, {{50, 55}, {70, 75}, {50, 90}},
          {neuron(1, "conv1", 0.5, 0.9), neuron(1, "fc", kNaN, 0.2), neuron(2, "conv1", 0.3, 0.8),
           neuron(2, "fc", 0.1, 0.4)}),
      run(1, {{60, 60}, {62, 70}, {64, 80}}, {neuron(1, "conv1", 0.1, 1.0), neuron(1, "fc", 0.2, 0.6)}),
      run(2, {{70, 65}, {std::nullopt, 72}, {45, 85}})};
  runs[2].config.train.eval_every = 2;
  return runs;
}

TEST(ReportEpochs, SpreadOverSeedsPerEpoch) {
  const Report report = build_report(three_seeds());
  ASSERT_EQ(report.groups.size(), 1u);
  const Group& g = report.groups[0];

  EXPECT_EQ(g.eval_top1.epochs, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(g.eval_top1.n, (std::vector<int64_t>{3, 2, 3}));
  EXPECT_NEAR(g.eval_top1.mean[0], 60, 1e-12);
  EXPECT_NEAR(g.eval_top1.std[0], 10, 1e-12);
  EXPECT_NEAR(g.eval_top1.mean[1], 66, 1e-12);
  EXPECT_NEAR(g.eval_top1.std[1], std::sqrt(32.0), 1e-12);
  EXPECT_EQ(g.eval_top1.min[1], 62);
  EXPECT_EQ(g.eval_top1.max[1], 70);
  EXPECT_NEAR(g.eval_top1.std[2], std::sqrt(97.0), 1e-12);
  EXPECT_EQ(g.eval_top1.min[2], 45);

  // Train top-1 is there at every epoch: epoch 2 {75, 70, 72}.
  EXPECT_EQ(g.train_top1.n, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_NEAR(g.train_top1.mean[1], 217.0 / 3, 1e-12);

  // The gap only where the epoch was evaluated.
  EXPECT_EQ(g.top1_gap.n, (std::vector<int64_t>{3, 2, 3}));
  EXPECT_NEAR(g.top1_gap.mean[0], 0, 1e-12);
  EXPECT_NEAR(g.top1_gap.std[0], 5, 1e-12);
  EXPECT_EQ(g.top1_gap.min[0], -5);
  EXPECT_NEAR(g.top1_gap.mean[1], 6.5, 1e-12);
  EXPECT_NEAR(g.top1_gap.std[1], std::sqrt(4.5), 1e-12);
  EXPECT_NEAR(g.top1_gap.mean[2], 32, 1e-12);
  EXPECT_NEAR(g.top1_gap.std[2], std::sqrt(192.0), 1e-12);
  EXPECT_EQ(g.top1_gap.max[2], 40);

  ASSERT_TRUE(g.largest_drop.has_value());
  EXPECT_EQ(g.largest_drop->change, -25);
  EXPECT_EQ(g.largest_drop->seed, 2u);
  EXPECT_EQ(g.largest_drop->from_epoch, 1);
  EXPECT_EQ(g.largest_drop->to_epoch, 3);
  // Without seed 2, seed 0's -20 is the largest; seed 1 alone never falls.
  const std::vector<RunData> runs = three_seeds();
  EXPECT_EQ(largest_drop(runs, {0, 1})->change, -20);
  EXPECT_EQ(largest_drop(runs, {0, 1})->from_epoch, 2);
  EXPECT_FALSE(largest_drop(runs, {1}).has_value());
}

TEST(ReportEpochs, SitesOverEpochs) {
  const Report report = build_report(three_seeds());
  const std::vector<SiteCurves>& sites = report.groups[0].sites;
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].site, "conv1");  // neurons.csv's order
  EXPECT_EQ(sites[1].site, "fc");
  // conv1 dead: epoch 1 {0.5, 0.1} mean 0.3, std sqrt(0.08) = 0.283; epoch 2 {0.3} (seed 1 skipped it).
  EXPECT_EQ(sites[0].dead_fraction.epochs, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(sites[0].dead_fraction.n, (std::vector<int64_t>{2, 1}));
  EXPECT_NEAR(sites[0].dead_fraction.mean[0], 0.3, 1e-12);
  EXPECT_NEAR(sites[0].dead_fraction.std[0], std::sqrt(0.08), 1e-12);
  EXPECT_NEAR(sites[0].dead_fraction.mean[1], 0.3, 1e-12);
  EXPECT_TRUE(std::isnan(sites[0].dead_fraction.std[1]));
  // fc dead: epoch 1 {NaN left out, 0.2}; reach epoch 1 {0.2, 0.6} mean 0.4, std sqrt(0.08).
  EXPECT_EQ(sites[1].dead_fraction.n[0], 1);
  EXPECT_NEAR(sites[1].dead_fraction.mean[0], 0.2, 1e-12);
  EXPECT_EQ(sites[1].grad_nonzero_fraction.n[0], 2);
  EXPECT_NEAR(sites[1].grad_nonzero_fraction.mean[0], 0.4, 1e-12);
  EXPECT_NEAR(sites[1].grad_nonzero_fraction.std[0], std::sqrt(0.08), 1e-12);
  EXPECT_NEAR(sites[0].grad_nonzero_fraction.mean[0], 0.95, 1e-12);
  EXPECT_EQ(report.groups[0].neuron_runs, 2);
}

TEST(ReportEpochs, MarkdownAndCsv) {
  const Report report = build_report(three_seeds());
  const std::string md = epochs_markdown(report);
  EXPECT_NE(md.find("| epoch | relu (3 seeds) |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | 60.00 \u00b1 10.00 [50.00, 70.00] |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | 66.00 \u00b1 5.66 [62.00, 70.00] |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| 3 | 32.00 \u00b1 13.86 [16.00, 40.00] |\n"), std::string::npos) << md;  // the gap
  EXPECT_NE(md.find("- relu: -25.00 pp (seed 2, epoch 1 \u2192 3).\n"), std::string::npos) << md;

  const std::string epochs = format_epochs_csv(report);
  EXPECT_EQ(epochs.substr(0, epochs.find('\n')),
            "model.activation,epoch,eval_top1_n,eval_top1_mean,eval_top1_std,eval_top1_min,eval_top1_max,"
            "train_top1_n,train_top1_mean,train_top1_std,train_top1_min,train_top1_max,top1_gap_n,top1_gap_mean,"
            "top1_gap_std,top1_gap_min,top1_gap_max,train_loss_n,train_loss_mean,train_loss_std,train_loss_min,"
            "train_loss_max");
  // Epoch 2: test {70, 62}; train {75, 70, 72}: mean 72.333, std sqrt(19 / 3) = 2.517; gap {5, 8};
  // train loss 1.5 for every seed.
  EXPECT_NE(epochs.find("\nrelu,2,2,66,5.656854249,62,70,3,72.33333333,2.516611478,70,75,2,6.5,2.121320344,5,8,"
                        "3,1.5,0,1.5,1.5\n"),
            std::string::npos)
      << epochs;

  const std::string sites = format_sites_csv(report);
  EXPECT_EQ(sites.substr(0, sites.find('\n')),
            "model.activation,site,epoch,dead_fraction_n,dead_fraction_mean,dead_fraction_std,dead_fraction_min,"
            "dead_fraction_max,grad_nonzero_fraction_n,grad_nonzero_fraction_mean,grad_nonzero_fraction_std,"
            "grad_nonzero_fraction_min,grad_nonzero_fraction_max");
  EXPECT_NE(sites.find("\nrelu,conv1,1,2,0.3,0.2828427125,0.1,0.5,2,0.95,0.07071067812,0.9,1\n"), std::string::npos)
      << sites;
  EXPECT_NE(sites.find("\nrelu,fc,1,1,0.2,,0.2,0.2,2,0.4,0.2828427125,0.2,0.6\n"), std::string::npos) << sites;
  EXPECT_NE(sites.find("\nrelu,conv1,2,1,0.3,,0.3,0.3,1,0.8,,0.8,0.8\n"), std::string::npos) << sites;

  const std::string neurons = neurons_markdown(report, true);
  EXPECT_NE(neurons.find("![dead_fraction, resnet18 / cifar10](dead_fraction_resnet18_cifar10.png)"),
            std::string::npos)
      << neurons;
  EXPECT_EQ(family_plots(report, report.families[0]),
            (std::vector<std::string>{"eval_top1", "train_loss", "top1_gap", "dead_fraction", "grad_reach"}));
}

TEST(ReportEpochs, OneSeedLongRunsAndNoTrainTop1) {
  // One seed: its value alone. 60 epochs: one row every 3 epochs and the last (21 rows, not 60).
  std::vector<Epoch> epochs;
  for (int e = 1; e <= 60; ++e) epochs.push_back({static_cast<double>(e), kNaN});  // no train_top1 column
  const Report report = build_report({run(0, epochs)});
  const std::string md = epochs_markdown(report);
  EXPECT_NE(md.find("| epoch | relu (1 seed) |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("\n| 58 | 58.00 |\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("\n| 59 |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n| 60 | 60.00 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("One row every 3 epochs and the last"), std::string::npos) << md;
  EXPECT_NE(md.find("- relu: no seed's test top-1 fell from one evaluation to the next.\n"), std::string::npos);
  // Without train_top1 there is no gap: no table, no plot; without neurons.csv no heat maps.
  EXPECT_EQ(md.find("Train \u2212 test"), std::string::npos) << md;
  EXPECT_TRUE(report.groups[0].top1_gap.epochs.empty());
  EXPECT_EQ(family_plots(report, report.families[0]), (std::vector<std::string>{"eval_top1", "train_loss"}));
  EXPECT_EQ(neurons_markdown(report, true), "");
}

TEST(ReportEpochs, MetricsWithoutTrainTop1ReadAsNoValue) {
  const std::vector<MetricsRow> rows =
      run_dir::parse_metrics_csv("epoch,train_loss,eval_top1,eval_split\n1,2.0,50,test\n", "m.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(std::isnan(rows[0].train_top1));
  EXPECT_FALSE(top1_gap_of(rows[0]).has_value());
  EXPECT_EQ(*eval_top1_of(rows[0]), 50);
}

}  // namespace
