#pragma once
// From run directories to the numbers of `sugar report`: runs grouped by configuration, per group the
// accuracy over seeds, the paired difference to the ReLU baseline and the mean curves.
//
// Grouping. Two runs are replicates of one configuration when their configs differ only in the seed
// and in keys that do not change the math (config::non_math_keys(): name, data.root, train.threads,
// ...) or that the caller adds (ReportOptions::ignore_keys, `sugar report --ignore KEY`). The table's
// columns are the keys whose values differ between groups, so a grid over models, datasets and
// activations reads as exactly those three columns. model.activation is always a column.
//
// Numbers. Only finished runs count (RunData::finished()); unfinished ones are listed apart.
//  - final top-1: eval_top1 of the last epoch, mean and sample std over seeds. This is the headline:
//    nothing is selected on the test set.
//  - best val top-1: for runs evaluated on a validation split (data.val_split > 0, eval_split "val"),
//    the best validation top-1 over epochs. The test accuracy of that checkpoint is not in
//    metrics.csv (the trainer evaluates only the validation set); `sugar eval --run RUN --checkpoint
//    best` measures it. For test-split runs this column stays empty: a best-over-epochs test accuracy
//    would be selected on the test set.
//  - the paired difference to the baseline: the group with the same config except model.activation
//    == the baseline activation (relu), over the seeds finished in both, b_i - a_i per seed, with a
//    Student-t confidence interval (statistics.hpp). When the accuracy columns are validation
//    accuracies, so is the difference.
//  - target epoch: the first epoch at which the mean-over-seeds eval_top1 curve reaches the target.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sugar/report/curves.hpp"
#include "sugar/report/run_data.hpp"
#include "sugar/report/statistics.hpp"

namespace sugar::report {

struct ReportOptions {
  std::vector<std::string> ignore_keys;   // ignored when grouping, on top of ignored_keys_by_default()
  std::optional<double> target_acc;       // percent
  std::string baseline_activation = "relu";  // canonical spec text
  double confidence = 0.95;
};

// The keys ignored when grouping unless asked otherwise: seed (the replicate index) and
// config::non_math_keys().
std::vector<std::string> ignored_keys_by_default();

// Mean over the runs of a group of one site's dead fraction at each run's last neurons.csv epoch.
struct SiteDeadFraction {
  std::string site;
  double mean = 0;
  int64_t runs = 0;
};

struct Group {
  std::vector<size_t> runs;          // indices into the runs given to build_report, by seed
  std::vector<uint64_t> seeds;       // the same order
  std::vector<std::string> values;   // one per Report::columns
  std::string activation;            // model.activation
  std::string model, dataset;        // model.name, data.name
  std::string eval_split;            // "test" or "val"
  size_t family = 0;                 // index into Report::families

  std::vector<double> final_top1;    // per run, seed order
  double final_top1_mean = 0, final_top1_std = 0;
  std::vector<double> best_val_top1;  // per run when eval_split is "val", else empty
  double best_val_top1_mean = 0, best_val_top1_std = 0;
  double final_train_loss_mean = 0, final_train_loss_std = 0;

  std::optional<size_t> baseline;    // the baseline group; none for a baseline itself or when missing
  std::vector<uint64_t> paired_seeds;
  PairedDifference difference;       // n = 0 without baseline

  std::optional<int64_t> target_epoch;  // empty: no target asked, or never reached
  Curve eval_top1, train_top1, top1_gap, train_loss;  // per epoch over the seeds (curves.hpp)
  std::optional<EpochDrop> largest_drop;  // the largest fall of one seed's eval_top1 between evaluations
  std::vector<SiteDeadFraction> dead;   // empty when no run of the group has neurons.csv
  std::vector<SiteCurves> sites;        // every site's dead fraction and gradient reach over the epochs
  int64_t neuron_runs = 0;              // runs of the group with a neurons.csv
};

// Groups identical except for the activation: one plot and one dead-neuron table each.
struct Family {
  std::vector<size_t> groups;
  std::string model, dataset;
  std::string label;      // "resnet18 / cifar10", plus the other differing keys ("optim.lr=0.01")
  std::string file_stem;  // "resnet18_cifar10" (made unique among families): plots are <metric>_<stem>.png
};

struct Report {
  std::vector<std::string> columns;  // key paths, in config order
  std::vector<Group> groups;         // sorted by the non-activation columns, baseline first, then activation
  std::vector<Family> families;
  std::vector<size_t> unfinished;    // indices of unfinished runs
  std::vector<std::string> ignored_keys;
  ReportOptions options;
};

// Throws sugar::Error (usage) for an unknown key in options.ignore_keys, or for ignoring
// model.activation (the report compares activations), and (runtime) for two finished runs with the
// same configuration and seed.
Report build_report(const std::vector<RunData>& runs, const ReportOptions& options = {});

// "unknown config key 'optim.lrr'; did you mean optim.lr?" (an example of a key path when no key is near).
std::string unknown_key_message(const std::string& key);

// The value of a config key as it reads in a table: the YAML text without quotes.
std::string key_value(const config::ExperimentConfig& config, const std::string& key);

}  // namespace sugar::report
