#pragma once
// neurons.csv: the dead-unit statistics of train/neuron_stats.hpp, one row per (epoch, activation site),
// sites in model order, flushed after each epoch like metrics.csv:
//
//   epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction
//   1,act1,0.000000,0.512345,0.12345678,1.000000
//
// `sugar report` reads these column names. Fractions are written with 6 decimals, grad_norm with 8
// significant digits (a site that saw no input in the measurement writes nan in its two fractions).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sugar/io/csv_log.hpp"

#include "sugar/train/neuron_stats.hpp"

namespace sugar::train {

class NeuronsCsv {
 public:
  static const std::vector<std::string>& columns();
  static std::string header_line();
  static std::string format_row(int64_t epoch, const SiteNeuronStats& stats);

  // Creates (or truncates) `path` and writes the header.
  static NeuronsCsv create(const std::string& path);
  // Appends to the existing file of a run being resumed (run_dir/csv_files.hpp's kept rows were
  // written first: train/resume_plan.hpp).
  static NeuronsCsv append_to(const std::string& path);

  // The rows of one epoch, written together and on disk before this returns (io/csv_log.hpp).
  void append(int64_t epoch, const std::vector<SiteNeuronStats>& sites);
  const std::string& path() const { return log_.path(); }

 private:
  explicit NeuronsCsv(io::CsvLog log) : log_(std::move(log)) {}
  io::CsvLog log_;
};

}  // namespace sugar::train
