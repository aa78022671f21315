#pragma once
// What `sugar report` reads from a run directory (train/trainer.hpp describes the layout): the
// resolved config.yaml, the per-epoch metrics.csv, status.json's state and, when the trainer wrote
// one, neurons.csv (dead-neuron statistics per activation site).
//
// Reading is strict: a metrics.csv or neurons.csv that does not parse is an error naming the file and
// line, never a silently shorter curve. A run that simply has not finished is not an error: it is
// loaded and says why it is unfinished, and the report lists it apart.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"

namespace sugar::report {

inline constexpr const char* kNeuronsFile = "neurons.csv";

// One row of metrics.csv. The eval fields are meaningful only when `evaluated` (the cells are empty
// for epochs without evaluation).
struct MetricsRow {
  int64_t epoch = 0;
  double train_loss = 0;
  double train_top1 = 0;
  bool evaluated = false;
  double eval_loss = 0;
  double eval_top1 = 0;
  double eval_top5 = 0;
  std::string eval_split;  // "val" or "test" when evaluated
};

// One row of neurons.csv: `epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction`.
struct NeuronRow {
  int64_t epoch = 0;
  std::string site;
  double dead_fraction = 0;  // fractions in [0, 1]; NaN when the site saw no input (train/neuron_stats.hpp)
  double sparsity = 0;
  double grad_norm = 0;
  double grad_nonzero_fraction = 0;
};

struct RunData {
  std::string dir;
  config::ExperimentConfig config;
  std::string state;  // status.json's state; "unknown" when the run has no status.json
  std::vector<MetricsRow> metrics;
  std::vector<NeuronRow> neurons;  // empty without neurons.csv
  // Empty for a finished run: status "finished", train.epochs rows, the last one evaluated.
  // Otherwise why not, e.g. "interrupted after 2 of 4 epochs".
  std::string unfinished_reason;
  bool finished() const { return unfinished_reason.empty(); }
};

// Parse a metrics.csv / neurons.csv. Columns are found by their header names (extra columns are
// allowed); every problem is a sugar::Error (runtime) "<path>:<line>: <what>".
std::vector<MetricsRow> read_metrics_csv(const std::string& path);
std::vector<NeuronRow> read_neurons_csv(const std::string& path);

// The run directories among `paths`: a directory holding config.yaml is a run; any other directory is
// searched recursively (not descending into runs). Sorted, without duplicates. A path that does not
// exist or is not a directory is a usage error; so is finding no run at all.
std::vector<std::string> find_run_dirs(const std::vector<std::string>& paths);

// Reads one run directory. A missing metrics.csv means no epoch finished yet (the run is unfinished);
// a corrupt config.yaml, metrics.csv, neurons.csv or status.json is a runtime error naming the file.
RunData load_run(const std::string& dir);

}  // namespace sugar::report
