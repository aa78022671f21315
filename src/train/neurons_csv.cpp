#include "sugar/train/neurons_csv.hpp"

#include "sugar/io/csv_log.hpp"

namespace sugar::train {

using io::csv_number;

const std::vector<std::string>& NeuronsCsv::columns() {
  static const std::vector<std::string> names{"epoch", "site", "dead_fraction", "sparsity", "grad_norm",
                                              "grad_nonzero_fraction"};
  return names;
}

std::string NeuronsCsv::header_line() { return io::csv_header_line(columns()); }

std::string NeuronsCsv::format_row(int64_t epoch, const SiteNeuronStats& s) {
  std::string row = std::to_string(epoch);
  auto cell = [&row](const std::string& text) {
    row += ',';
    row += text;
  };
  cell(s.site);
  cell(csv_number("%.6f", s.dead_fraction));
  cell(csv_number("%.6f", s.sparsity));
  cell(csv_number("%.8g", s.grad_norm));
  cell(csv_number("%.6f", s.grad_nonzero_fraction));
  return row;
}

NeuronsCsv NeuronsCsv::create(const std::string& path) { return NeuronsCsv(io::CsvLog::create(path, columns())); }

NeuronsCsv NeuronsCsv::append_to(const std::string& path) { return NeuronsCsv(io::CsvLog::append_to(path)); }

void NeuronsCsv::append(int64_t epoch, const std::vector<SiteNeuronStats>& sites) {
  std::string rows;
  for (const SiteNeuronStats& s : sites) {
    rows += format_row(epoch, s);
    rows += '\n';
  }
  log_.append(rows);
}

}  // namespace sugar::train
