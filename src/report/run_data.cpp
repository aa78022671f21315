#include "sugar/report/run_data.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/train/trainer.hpp"

namespace sugar::report {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void file_error(const std::string& path, size_t line, const std::string& what) {
  throw Error(path + ":" + std::to_string(line) + ": " + what, ErrorKind::runtime);
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

// A CSV file as rows of cells, each row with its 1-based line number; blank lines are skipped and a
// trailing \r (a file edited on Windows) is dropped. Every row must have as many cells as the header.
struct CsvTable {
  std::string path;
  std::map<std::string, size_t> column;  // header name -> index
  struct Row {
    size_t line;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;

  // The index of a column the file must have.
  size_t require(const std::string& name) const {
    const auto it = column.find(name);
    if (it == column.end()) file_error(path, 1, "the header has no column '" + name + "'");
    return it->second;
  }
};

CsvTable read_csv(const std::string& path, const std::string& expected_header) {
  CsvTable table;
  table.path = path;
  std::istringstream in(io::read_file(path));
  std::string line;
  size_t number = 0;
  bool have_header = false;
  size_t width = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells = split_cells(line);
    if (!have_header) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (!table.column.emplace(cells[i], i).second)
          file_error(path, number, "the header names column '" + cells[i] + "' twice");
      }
      width = cells.size();
      have_header = true;
      continue;
    }
    if (cells.size() != width) {
      file_error(path, number,
                 "expected " + std::to_string(width) + " cells (as in the header), got " + std::to_string(cells.size()));
    }
    table.rows.push_back({number, std::move(cells)});
  }
  if (!have_header) file_error(path, 1, "empty file, expected the header '" + expected_header + "'");
  return table;
}

double parse_number(const CsvTable& table, const CsvTable::Row& row, size_t index, const std::string& name) {
  const std::string& text = row.cells[index];
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size())
    file_error(table.path, row.line, name + ": '" + text + "' is not a number");
  return value;
}

int64_t parse_epoch(const CsvTable& table, const CsvTable::Row& row, size_t index) {
  const std::string& text = row.cells[index];
  int64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size() || value < 1)
    file_error(table.path, row.line, "epoch: '" + text + "' is not an epoch number (a whole number >= 1)");
  return value;
}

// A fraction in [0, 1], or NaN: neurons.csv writes nan for a site that saw no input in the measurement.
double parse_fraction(const CsvTable& table, const CsvTable::Row& row, size_t index, const std::string& name) {
  const double value = parse_number(table, row, index, name);
  if (!std::isnan(value) && !(value >= 0 && value <= 1))
    file_error(table.path, row.line, name + ": " + row.cells[index] + " is not a fraction in [0, 1]");
  return value;
}

std::string read_state(const std::string& path) {
  if (!fs::exists(path)) return "unknown";
  nlohmann::json status;
  try {
    status = io::parse_json(io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")", ErrorKind::runtime);
  }
  if (!status.is_object() || !status.contains("state") || !status["state"].is_string())
    throw Error(path + ": expected an object with a string \"state\"", ErrorKind::runtime);
  return status["state"].get<std::string>();
}

std::string unfinished_reason(const RunData& run) {
  const int64_t epochs = run.config.train.epochs;
  const int64_t done = run.metrics.empty() ? 0 : run.metrics.back().epoch;
  const std::string progress = std::to_string(done) + " of " + std::to_string(epochs) + " epochs";
  if (run.state == "unknown") return "no status.json, " + progress;
  if (run.state != "finished") return run.state + " after " + progress;
  if (done < epochs) return "status finished but metrics.csv has " + progress;
  if (!run.metrics.back().evaluated) return "the last epoch was not evaluated";
  return "";
}

}  // namespace

std::vector<MetricsRow> read_metrics_csv(const std::string& path) {
  const CsvTable table = read_csv(path, "epoch,train_loss,...,eval_split");
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
    m.epoch = parse_epoch(table, row, epoch);
    if (!rows.empty() && m.epoch <= rows.back().epoch) {
      file_error(path, row.line,
                 "epoch " + std::to_string(m.epoch) + " does not follow epoch " + std::to_string(rows.back().epoch));
    }
    m.train_loss = parse_number(table, row, train_loss, "train_loss");
    if (train_top1 != std::string::npos) m.train_top1 = parse_number(table, row, train_top1, "train_top1");
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

std::vector<NeuronRow> read_neurons_csv(const std::string& path) {
  const CsvTable table =
      read_csv(path, "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction");
  const size_t epoch = table.require("epoch"), site = table.require("site"),
               dead = table.require("dead_fraction"), sparsity = table.require("sparsity"),
               grad_norm = table.require("grad_norm"), grad_nonzero = table.require("grad_nonzero_fraction");
  std::vector<NeuronRow> rows;
  for (const CsvTable::Row& row : table.rows) {
    NeuronRow n;
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

std::vector<std::string> find_run_dirs(const std::vector<std::string>& paths) {
  std::set<std::string> seen;  // canonical paths, so that runs/ and runs/a together count runs/a once
  std::vector<std::string> found;
  const auto add = [&](const fs::path& dir) {
    if (seen.insert(fs::weakly_canonical(dir).string()).second) found.push_back(dir.lexically_normal().string());
  };
  for (const std::string& path : paths) {
    std::error_code error;
    if (!fs::exists(path, error)) throw Error("report: '" + path + "' does not exist", ErrorKind::usage);
    if (!fs::is_directory(path, error))
      throw Error("report: '" + path + "' is not a directory (expected a run directory or a folder of runs)",
                  ErrorKind::usage);
    if (fs::exists(fs::path(path) / train::kConfigFile)) {
      add(path);
      continue;
    }
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_directory()) continue;
      if (fs::exists(it->path() / train::kConfigFile)) {
        add(it->path());
        it.disable_recursion_pending();  // a run's own sub-folders are not runs
      }
    }
  }
  if (found.empty()) {
    std::string list;
    for (const std::string& path : paths) list += (list.empty() ? "" : ", ") + path;
    throw Error("report: no run directories (folders with config.yaml) in " + list, ErrorKind::usage);
  }
  std::sort(found.begin(), found.end());
  return found;
}

RunData load_run(const std::string& dir) {
  RunData run;
  run.dir = dir;
  const fs::path root(dir);
  try {
    run.config = config::load_config((root / train::kConfigFile).string());
  } catch (const Error& e) {
    // A config.yaml the trainer wrote is a file on disk, not the user's command line: runtime.
    throw Error(e.what(), ErrorKind::runtime);
  }
  const fs::path metrics = root / train::kMetricsFile;
  if (fs::exists(metrics)) run.metrics = read_metrics_csv(metrics.string());
  const fs::path neurons = root / kNeuronsFile;
  if (fs::exists(neurons)) run.neurons = read_neurons_csv(neurons.string());
  run.state = read_state((root / train::kStatusFile).string());
  run.unfinished_reason = unfinished_reason(run);
  return run;
}

}  // namespace sugar::report
