// Reading the tables of `sugar report --reference` (report/reference.hpp): strictly, one error line
// naming file:line for anything that is not what the format says.
#include "sugar/report/reference.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <tuple>
#include <utility>

#include "sugar/activations/spec.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/config/config_schema.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/io/csv_table.hpp"
#include "sugar/io/regular_file.hpp"
#include "sugar/text.hpp"

namespace sugar::report {
namespace fs = std::filesystem;
namespace {

using io::CsvTable;

const std::vector<std::string> kReportedColumns{"model", "dataset", "activation", "reported_top1", "source"};
const std::vector<std::string> kStatedColumns{"key", "value", "dataset"};

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The table with exactly `columns` (in any order) and at least one row.
CsvTable read_table(const std::string& text, const std::string& path, const std::vector<std::string>& columns) {
  const std::string header = text::join(columns, ",");
  CsvTable table = io::parse_csv_table(text, path, header, ErrorKind::usage);
  for (const std::string& name : table.header) {
    if (!contains(columns, name))
      table.fail(table.header_line, "unknown column '" + name + "', expected the header '" + header + "'");
  }
  for (const std::string& name : columns) table.require(name);
  if (table.rows.empty()) table.fail(table.header_line, "no rows after the header");
  return table;
}

std::string one_of(const std::vector<std::string>& names) { return "one of " + text::join(names); }

void check_dataset(const CsvTable& table, size_t line, const std::string& dataset) {
  if (!contains(data::dataset_names(), dataset))
    table.fail(line, "dataset: '" + dataset + "' is not a dataset Sugar knows (expected " +
                         one_of(data::dataset_names()) + ")");
}

double parse_percentage(const CsvTable& table, size_t line, const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    table.fail(line, "reported_top1: '" + text + "' is not a number (expected a percentage in [0, 100])");
  if (!(value >= 0 && value <= 100))  // NaN fails too
    table.fail(line, "reported_top1: " + text + " is not a percentage in [0, 100]");
  return value;
}

// `value` as the config layer writes it for `key`: read as `--set key=value` is read (type and range
// checked), in a config of `dataset` when one is given. The config layer's message starts with the
// override it was given, which the user never wrote: that prefix is replaced by file:line.
std::string canonical_value(const CsvTable& table, size_t line, const std::string& key, const std::string& value,
                            const std::string& dataset) {
  const std::string setting = key + "=" + value;
  std::vector<std::string> overrides;
  if (!dataset.empty()) overrides.push_back("data.name=" + dataset);
  overrides.push_back(setting);
  try {
    return key_value(config::load_config_text("", table.path, overrides), key);
  } catch (const Error& e) {
    std::string what = e.what();
    const std::string prefix = "--set " + setting + ": ";
    if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
    table.fail(line, what);
  }
}

// A stated key must be a config key that changes what a run computes and is not one of the reported
// table's columns.
void check_stated_key(const CsvTable& table, size_t line, const std::string& key) {
  if (key == "model.name" || key == "data.name" || key == "model.activation")
    table.fail(line, "key: " + key + " is a column of the reported table (model, dataset, activation), not a setting");
  if (key == "seed")
    table.fail(line, "key: seed is the replicate index, not a setting (the report groups runs over seeds)");
  if (config::find_field(key) == nullptr) table.fail(line, "key: " + unknown_key_message(key));
  if (contains(config::non_math_keys(), key))
    table.fail(line, "key: " + key + " does not change what a run computes, so it is not compared");
}

}  // namespace

std::vector<ReportedAccuracy> parse_reported(const std::string& text, const std::string& path) {
  const CsvTable table = read_table(text, path, kReportedColumns);
  const size_t model = table.require("model"), dataset = table.require("dataset"),
               activation = table.require("activation"), top1 = table.require("reported_top1"),
               source = table.require("source");
  std::vector<ReportedAccuracy> rows;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> seen;  // -> line
  for (const CsvTable::Row& row : table.rows) {
    ReportedAccuracy r;
    r.line = row.line;
    r.model = row.cells[model];
    r.dataset = row.cells[dataset];
    r.activation = row.cells[activation];
    r.source = row.cells[source];
    if (!contains(models::model_names(), r.model))
      table.fail(row.line, "model: '" + r.model + "' is not a model Sugar knows (expected " +
                               one_of(models::model_names()) + ")");
    check_dataset(table, row.line, r.dataset);
    try {
      r.canonical_activation = activations::ActivationSpec::parse(r.activation).to_string();
    } catch (const Error& e) {
      table.fail(row.line, std::string("activation: ") + e.what());
    }
    r.top1 = parse_percentage(table, row.line, row.cells[top1]);
    const auto [it, inserted] = seen.emplace(std::tuple{r.model, r.dataset, r.canonical_activation}, row.line);
    if (!inserted)
      table.fail(row.line, r.model + ", " + r.dataset + ", " + r.canonical_activation + " was already reported on " +
                               "line " + std::to_string(it->second) +
                               " (one reported accuracy per model, dataset and activation)");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<StatedSetting> parse_stated(const std::string& text, const std::string& path) {
  const CsvTable table = read_table(text, path, kStatedColumns);
  const size_t key = table.require("key"), value = table.require("value"), dataset = table.require("dataset");
  std::vector<StatedSetting> settings;
  // key -> (dataset, line) of its rows so far: a handful each, since a repeated dataset is an error.
  std::map<std::string, std::vector<std::pair<std::string, size_t>>> seen;
  for (const CsvTable::Row& row : table.rows) {
    StatedSetting s;
    s.line = row.line;
    s.key = row.cells[key];
    s.dataset = row.cells[dataset];
    check_stated_key(table, row.line, s.key);
    if (!s.dataset.empty()) check_dataset(table, row.line, s.dataset);
    if (!row.cells[value].empty()) s.value = canonical_value(table, row.line, s.key, row.cells[value], s.dataset);
    // A key stated once per dataset, or once for every dataset: never both, so no row silently wins.
    std::vector<std::pair<std::string, size_t>>& earlier = seen[s.key];
    for (const auto& [other_dataset, other_line] : earlier) {
      if (other_dataset == s.dataset)
        table.fail(row.line, s.key + " is already stated" + (s.dataset.empty() ? "" : " for " + s.dataset) +
                                 " on line " + std::to_string(other_line));
      if (other_dataset.empty() || s.dataset.empty())
        table.fail(row.line, s.key + " is stated for every dataset and for one dataset (lines " +
                                 std::to_string(other_line) + " and " + std::to_string(row.line) +
                                 "); give it once with an empty dataset, or once per dataset");
    }
    earlier.emplace_back(s.dataset, row.line);
    settings.push_back(std::move(s));
  }
  return settings;
}

Reference read_reference(const std::string& path) {
  // The tables are the user's input, as a config is: anything wrong with them is a usage error.
  const auto read = [](const std::string& file) {
    try {
      return io::read_regular_file(file, io::kMaxConfigFileBytes, "reference table");
    } catch (const Error& e) {
      throw Error(std::string("report --reference: ") + e.what(), ErrorKind::usage);
    }
  };
  Reference reference;
  reference.path = path;
  reference.reported = parse_reported(read(path), path);
  const fs::path stated = fs::path(path).parent_path() / kStatedFile;
  std::error_code error;
  // symlink_status: a dangling link named stated.csv is read (and fails), never taken for no file.
  if (fs::symlink_status(stated, error).type() != fs::file_type::not_found) {
    reference.stated_path = stated.string();
    reference.stated = parse_stated(read(reference.stated_path), reference.stated_path);
  }
  return reference;
}

}  // namespace sugar::report
