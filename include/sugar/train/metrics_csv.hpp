#pragma once
// metrics.csv: one row per epoch, flushed as soon as it is written, so a run that dies keeps every
// finished epoch and `tail -f` shows progress. The first nine columns are timm's summary.csv names
// (fixed by the training issue); eval_split says whether the eval columns are on the validation set
// ("val") or the test set ("test"). Epochs without evaluation (train.eval_every > 1) leave the eval
// cells empty.
//
// Numbers are written with fixed precision (losses 6 decimals, accuracies 4, lr 8 significant digits)
// so two runs with identical training produce byte-identical rows apart from the two time columns.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sugar/io/csv_log.hpp"

namespace sugar::train {

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0;
  double train_top1 = 0;  // percent
  bool evaluated = false;
  double eval_loss = 0;
  double eval_top1 = 0;  // percent
  double eval_top5 = 0;  // percent
  double lr = 0;         // the LR of the epoch's last step
  double epoch_time_s = 0;
  double train_imgs_per_sec = 0;
  std::string eval_split;  // "val" or "test"
};

class MetricsCsv {
 public:
  // The header columns, in order.
  static const std::vector<std::string>& columns();
  static std::string header_line();
  static std::string format_row(const EpochMetrics& metrics);

  // Creates (or truncates) `path` and writes the header.
  static MetricsCsv create(const std::string& path);
  // Appends to the existing file of a run being resumed (run_dir/csv_files.hpp's kept rows were
  // written first: train/resume_plan.hpp).
  static MetricsCsv append_to(const std::string& path);

  // One row, on disk before this returns (io/csv_log.hpp).
  void append(const EpochMetrics& metrics);
  const std::string& path() const { return log_.path(); }

 private:
  explicit MetricsCsv(io::CsvLog log) : log_(std::move(log)) {}
  io::CsvLog log_;
};

}  // namespace sugar::train
