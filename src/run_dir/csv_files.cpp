#include "sugar/run_dir/csv_files.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/csv_table.hpp"

namespace sugar::run_dir {
namespace {

[[noreturn]] void file_error(const std::string& path, size_t line, const std::string& what) {
  throw Error(path + ":" + std::to_string(line) + ": " + what, ErrorKind::runtime);
}

using io::CsvTable;

double parse_number(const CsvTable& table, const CsvTable::Row& row, size_t index, const std::string& name) {
  const std::string& text = row.cells[index];
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size())
    table.fail(row.line, name + ": '" + text + "' is not a number");
  return value;
}

int64_t parse_epoch(const CsvTable& table, const CsvTable::Row& row, size_t index) {
  const std::string& text = row.cells[index];
  int64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size() || value < 1)
    table.fail(row.line, "epoch: '" + text + "' is not an epoch number (a whole number >= 1)");
  return value;
}

// A fraction in [0, 1], or NaN: neurons.csv writes nan for a site that saw no input in the measurement.
double parse_fraction(const CsvTable& table, const CsvTable::Row& row, size_t index, const std::string& name) {
  const double value = parse_number(table, row, index, name);
  if (!std::isnan(value) && !(value >= 0 && value <= 1))
    table.fail(row.line, name + ": " + row.cells[index] + " is not a fraction in [0, 1]");
  return value;
}

}  // namespace

std::vector<MetricsRow> parse_metrics_csv(const std::string& text, const std::string& path) {
  const CsvTable table = io::parse_csv_table(text, path, "epoch,train_loss,...,eval_split");
  const size_t epoch = table.require("epoch"), train_loss = table.require("train_loss"),
               eval_top1 = table.require("eval_top1"), eval_split = table.require("eval_split");
  const auto optional_column = [&table](const std::string& name) {
    const auto it = table.column.find(name);
    return it == table.column.end() ? std::string::npos : it->second;
  };
  const size_t train_top1 = optional_column("train_top1"), eval_loss = optional_column("eval_loss"),
               eval_top5 = optional_column("eval_top5");
  std::vector<MetricsRow> rows;
  for (const CsvTable::Row& row : table.rows) {
    MetricsRow m;
    m.line = row.line;
    m.epoch = parse_epoch(table, row, epoch);
    if (!rows.empty() && m.epoch <= rows.back().epoch) {
      file_error(path, row.line,
                 "epoch " + std::to_string(m.epoch) + " does not follow epoch " + std::to_string(rows.back().epoch));
    }
    m.train_loss = parse_number(table, row, train_loss, "train_loss");
    m.train_top1 = train_top1 == std::string::npos ? std::numeric_limits<double>::quiet_NaN()
                                                   : parse_number(table, row, train_top1, "train_top1");
    m.evaluated = !row.cells[eval_top1].empty();
    if (m.evaluated) {
      m.eval_top1 = parse_number(table, row, eval_top1, "eval_top1");
      if (eval_loss != std::string::npos && !row.cells[eval_loss].empty())
        m.eval_loss = parse_number(table, row, eval_loss, "eval_loss");
      if (eval_top5 != std::string::npos && !row.cells[eval_top5].empty())
        m.eval_top5 = parse_number(table, row, eval_top5, "eval_top5");
      m.eval_split = row.cells[eval_split];
      if (m.eval_split != "val" && m.eval_split != "test")
        file_error(path, row.line, "eval_split: '" + m.eval_split + "' is neither val nor test");
    }
    rows.push_back(std::move(m));
  }
  return rows;
}

std::vector<NeuronRow> parse_neurons_csv(const std::string& text, const std::string& path) {
  const CsvTable table =
      io::parse_csv_table(text, path, "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction");
  const size_t epoch = table.require("epoch"), site = table.require("site"),
               dead = table.require("dead_fraction"), sparsity = table.require("sparsity"),
               grad_norm = table.require("grad_norm"), grad_nonzero = table.require("grad_nonzero_fraction");
  std::vector<NeuronRow> rows;
  for (const CsvTable::Row& row : table.rows) {
    NeuronRow n;
    n.line = row.line;
    n.epoch = parse_epoch(table, row, epoch);
    if (!rows.empty() && n.epoch < rows.back().epoch) {
      file_error(path, row.line,
                 "epoch " + std::to_string(n.epoch) + " comes after epoch " + std::to_string(rows.back().epoch));
    }
    n.site = row.cells[site];
    if (n.site.empty()) file_error(path, row.line, "site: empty name");
    n.dead_fraction = parse_fraction(table, row, dead, "dead_fraction");
    n.sparsity = parse_fraction(table, row, sparsity, "sparsity");
    n.grad_norm = parse_number(table, row, grad_norm, "grad_norm");
    n.grad_nonzero_fraction = parse_fraction(table, row, grad_nonzero, "grad_nonzero_fraction");
    rows.push_back(std::move(n));
  }
  return rows;
}

std::vector<MetricsRow> read_metrics_csv(const std::string& path) { return parse_metrics_csv(io::read_file(path), path); }

std::vector<NeuronRow> read_neurons_csv(const std::string& path) { return parse_neurons_csv(io::read_file(path), path); }

namespace {

// The file's text with a torn last line cut off, after checking its header line.
std::string complete_lines(const std::string& path, const std::string& expected_header, KeptRows* kept) {
  std::string text = io::read_file(path);
  if (!text.empty() && text.back() != '\n') {
    const size_t last_newline = text.rfind('\n');
    kept->torn_line = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    text.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
  }
  std::string header = text.substr(0, text.find('\n'));
  if (!header.empty() && header.back() == '\r') header.pop_back();
  if (header != expected_header)
    file_error(path, 1, "unexpected header '" + header + "', expected '" + expected_header + "'");
  return text;
}

// The text up to and including line `line` (1-based).
std::string through_line(const std::string& text, size_t line) {
  size_t end = 0;
  for (size_t i = 0; i < line; ++i) {
    const size_t newline = text.find('\n', end);
    if (newline == std::string::npos) return text;
    end = newline + 1;
  }
  return text.substr(0, end);
}

template <class Row>
void keep_through(const std::string& text, const std::vector<Row>& rows, int64_t completed_epochs, KeptRows* kept) {
  size_t last_kept_line = 1;  // the header
  for (const Row& row : rows) {
    if (row.epoch <= completed_epochs) {
      last_kept_line = row.line;
    } else if (kept->discarded_epochs.empty() || kept->discarded_epochs.back() != row.epoch) {
      kept->discarded_epochs.push_back(row.epoch);
    }
  }
  kept->text = through_line(text, last_kept_line);
}

}  // namespace

KeptRows kept_metrics_rows(const std::string& path, const std::string& expected_header, int64_t completed_epochs) {
  KeptRows kept;
  const std::string text = complete_lines(path, expected_header, &kept);
  const std::vector<MetricsRow> rows = parse_metrics_csv(text, path);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].epoch != static_cast<int64_t>(i) + 1)
      file_error(path, rows[i].line, "epoch " + std::to_string(rows[i].epoch) + " where epoch " + std::to_string(i + 1) +
                                         " was expected (one row per epoch, from 1)");
  }
  const int64_t last = rows.empty() ? 0 : rows.back().epoch;
  if (last < completed_epochs) {
    throw Error(path + ": has rows up to epoch " + std::to_string(last) + ", but the checkpoint is at epoch " +
                std::to_string(completed_epochs));
  }
  keep_through(text, rows, completed_epochs, &kept);
  return kept;
}

KeptRows kept_neuron_rows(const std::string& path, const std::string& expected_header, int64_t completed_epochs) {
  KeptRows kept;
  const std::string text = complete_lines(path, expected_header, &kept);
  keep_through(text, parse_neurons_csv(text, path), completed_epochs, &kept);
  return kept;
}

}  // namespace sugar::run_dir
