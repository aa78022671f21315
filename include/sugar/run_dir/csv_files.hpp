#pragma once
// Reading metrics.csv and neurons.csv, strictly: every reader of a run directory (`sugar report`,
// `--resume`'s validation) goes through here, so a file fails the same way wherever it is read. The
// writers are train/metrics_csv.hpp and train/neurons_csv.hpp.
//
// A metrics.csv or neurons.csv that does not parse is a sugar::Error (runtime) "<path>:<line>: <what>",
// never a silently shorter curve. The CSV itself is read by io/csv_table.hpp: columns are found by their
// header names (extra columns are allowed), blank lines are skipped, a trailing \r (a file edited on
// Windows) is dropped.
#include <cstdint>
#include <string>
#include <vector>

namespace sugar::run_dir {

// One row of metrics.csv. The eval fields are meaningful only when `evaluated` (the cells are empty
// for epochs without evaluation).
struct MetricsRow {
  int64_t epoch = 0;
  double train_loss = 0;
  double train_top1 = 0;  // NaN when the file has no train_top1 column
  bool evaluated = false;
  double eval_loss = 0;  // NaN or Inf when the evaluated model produced non-finite outputs
  double eval_top1 = 0;
  double eval_top5 = 0;
  std::string eval_split;  // "val" or "test" when evaluated
  size_t line = 0;         // 1-based line in the file
};

// One row of neurons.csv: `epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction`.
struct NeuronRow {
  int64_t epoch = 0;
  std::string site;
  double dead_fraction = 0;  // fractions in [0, 1]; NaN when the site saw no input (train/neuron_stats.hpp)
  double sparsity = 0;
  double grad_norm = 0;
  double grad_nonzero_fraction = 0;
  size_t line = 0;  // 1-based line in the file
};

// The rows of a file's text; `path` names it in errors. metrics.csv's epochs must increase,
// neurons.csv's must not decrease.
std::vector<MetricsRow> parse_metrics_csv(const std::string& text, const std::string& path);
std::vector<NeuronRow> parse_neurons_csv(const std::string& text, const std::string& path);

// The same, reading the file.
std::vector<MetricsRow> read_metrics_csv(const std::string& path);
std::vector<NeuronRow> read_neurons_csv(const std::string& path);

// What a resumed run keeps of metrics.csv or neurons.csv: the text up to the last row of
// `completed_epochs` (the checkpoint's epoch), after every row of the file was checked. A run killed
// between writing an epoch's rows and its checkpoint leaves rows after that epoch: they are listed in
// `discarded_epochs` for the caller to announce. A last line without its newline is a row torn by a
// crash in the middle of its write: cut off and reported in `torn_line`. Anything else that does not
// parse is an error with file:line, as in the readers above.
struct KeptRows {
  std::string text;
  std::vector<int64_t> discarded_epochs;  // each epoch once, in order
  size_t torn_line = 0;                   // 1-based; 0 when the file ended with a newline
  // Whether `text` is shorter than the file: rows after the checkpoint, or a torn row.
  bool drops_rows() const { return !discarded_epochs.empty() || torn_line != 0; }
};

// metrics.csv must have the header `expected_header` and rows for epochs 1, 2, ... up to at least
// `completed_epochs`.
KeptRows kept_metrics_rows(const std::string& path, const std::string& expected_header, int64_t completed_epochs);
// neurons.csv must have the header `expected_header`; epochs may be missing (the statistics were off
// for part of the run).
KeptRows kept_neuron_rows(const std::string& path, const std::string& expected_header, int64_t completed_epochs);

}  // namespace sugar::run_dir
