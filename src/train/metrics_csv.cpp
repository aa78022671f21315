#include "sugar/train/metrics_csv.hpp"

#include "sugar/io/csv_log.hpp"

namespace sugar::train {

using io::csv_number;

const std::vector<std::string>& MetricsCsv::columns() {
  static const std::vector<std::string> names{"epoch", "train_loss", "train_top1", "eval_loss", "eval_top1",
                                              "eval_top5", "lr", "epoch_time_s", "train_imgs_per_sec",
                                              "eval_split"};
  return names;
}

std::string MetricsCsv::header_line() { return io::csv_header_line(columns()); }

std::string MetricsCsv::format_row(const EpochMetrics& m) {
  // Appended cell by cell (operator+ on a literal trips a GCC 12 -Wrestrict false positive).
  std::string row = std::to_string(m.epoch);
  auto cell = [&row](const std::string& text) {
    row += ',';
    row += text;
  };
  cell(csv_number("%.6f", m.train_loss));
  cell(csv_number("%.4f", m.train_top1));
  cell(m.evaluated ? csv_number("%.6f", m.eval_loss) : "");
  cell(m.evaluated ? csv_number("%.4f", m.eval_top1) : "");
  cell(m.evaluated ? csv_number("%.4f", m.eval_top5) : "");
  cell(csv_number("%.8g", m.lr));
  cell(csv_number("%.3f", m.epoch_time_s));
  cell(csv_number("%.2f", m.train_imgs_per_sec));
  cell(m.evaluated ? m.eval_split : "");
  return row;
}

MetricsCsv MetricsCsv::create(const std::string& path) { return MetricsCsv(io::CsvLog::create(path, columns())); }

MetricsCsv MetricsCsv::append_to(const std::string& path) { return MetricsCsv(io::CsvLog::append_to(path)); }

void MetricsCsv::append(const EpochMetrics& metrics) { log_.append(format_row(metrics) + "\n"); }

}  // namespace sugar::train
