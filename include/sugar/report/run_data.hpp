#pragma once
// What `sugar report` reads from a run directory (run_dir/layout.hpp describes the layout): the
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
#include "sugar/run_dir/csv_files.hpp"

namespace sugar::report {

// The rows of metrics.csv and neurons.csv, as the run directory's readers parse them.
using run_dir::MetricsRow;
using run_dir::NeuronRow;
using run_dir::read_metrics_csv;
using run_dir::read_neurons_csv;

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

// The run directories among `paths`: a directory holding config.yaml is a run; any other directory is
// searched recursively (not descending into runs). Sorted, without duplicates. A path that does not
// exist or is not a directory is a usage error; so is finding no run at all.
std::vector<std::string> find_run_dirs(const std::vector<std::string>& paths);

// Reads one run directory. A missing metrics.csv means no epoch finished yet (the run is unfinished);
// a corrupt config.yaml, metrics.csv, neurons.csv or status.json is a runtime error naming the file.
RunData load_run(const std::string& dir);

}  // namespace sugar::report
