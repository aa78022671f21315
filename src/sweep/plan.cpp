#include "sugar/sweep/plan.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sugar/config/yaml_values.hpp"
#include "sugar/error.hpp"
#include "sugar/train/initial_weights.hpp"

namespace sugar::sweep {
namespace {

namespace fs = std::filesystem;

std::string trimmed(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(" \t") - begin + 1));
}

std::string read_config_text(const std::string& path) { return config::read_config_file(path); }

bool is_number(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && std::isfinite(value);
}

}  // namespace

std::string SweepCell::overrides_text() const {
  std::string text;
  for (const Assignment& a : assignments) {
    if (!text.empty()) text += ' ';
    const bool quote = a.value.empty() || a.value.find_first_of(" \t'\"") != std::string::npos;
    text += a.key + "=" + (quote ? "'" + a.value + "'" : a.value);
  }
  return text;
}

std::string assignment_override(const Assignment& assignment) {
  // Numbers stay plain (a quoted "0" would still read as 0, but the override text is shown to people).
  return assignment.key + "=" + (is_number(assignment.value) ? assignment.value : config::write_text(assignment.value));
}

SweepPlan plan_sweep(const std::string& config_path, const std::vector<std::string>& overrides,
                     const std::string& runs_dir) {
  SweepPlan plan;
  plan.config_path = config_path;
  const std::string text = read_config_text(config_path);
  plan.base = config::load_config_text(text, config_path, overrides);
  if (plan.base.sweep.empty()) {
    throw Error(config_path + ": the config has no sweep grid (add e.g. 'sweep: {seed: [0, 1, 2]}', or give one with "
                    "--set sweep.seed=[0,1,2]); 'sugar train " + config_path + "' runs a single experiment",
                ErrorKind::usage);
  }
  std::vector<std::string> keys;
  for (const config::SweepAxis& axis : plan.base.sweep) keys.push_back(axis.key);
  for (const std::string& o : overrides) {
    const std::string key = trimmed(std::string_view(o).substr(0, o.find('=')));
    for (const std::string& axis : keys) {
      if (key == axis) {
        throw Error("--set " + o + ": " + key + " is a sweep axis, so every cell sets it; change its values with --set sweep." +
                        key + "=[...]",
                    ErrorKind::usage);
      }
    }
  }
  plan.grid_dir = (fs::path(runs_dir) / plan.base.name).string();
  plan.sweep_dir = (fs::path(plan.grid_dir) / ".sweep").string();

  const std::vector<std::string> labels = axis_labels(keys);
  std::map<std::string, size_t> names;
  // (model.init_from, the digest the config pins or "") -> the file's SHA-256, checked against the pin.
  std::map<std::pair<std::string, std::string>, std::string> init_from_digests;
  std::vector<std::vector<Assignment>> grid = expand_grid(plan.base.sweep);
  plan.cells.reserve(grid.size());
  for (size_t i = 0; i < grid.size(); ++i) {
    SweepCell cell;
    cell.index = i;
    cell.assignments = std::move(grid[i]);
    std::vector<std::string> cell_overrides = overrides;
    for (const Assignment& a : cell.assignments) cell_overrides.push_back(assignment_override(a));
    try {
      cell.config = config::load_config_text(text, config_path, cell_overrides);
    } catch (const Error& e) {
      throw Error(config_path + ": sweep cell " + std::to_string(i) + " (" + cell.overrides_text() + "): " + e.what(),
                  ErrorKind::usage);
    }
    cell.config.sweep.clear();
    // The digest of model.init_from, as the cell's run records it: a run directory is then compared
    // with the weights the cell would start from now (sweep/run_state.hpp), and the cell's `sugar
    // train` refuses a file that changes after this (its config pins the digest). Each file is read once.
    if (!cell.config.model.init_from.empty()) {
      const std::pair<std::string, std::string> given{cell.config.model.init_from, cell.config.model.init_from_sha256};
      if (const auto known = init_from_digests.find(given); known != init_from_digests.end()) {
        cell.config.model.init_from_sha256 = known->second;
      } else {
        try {
          cell.config = train::with_init_from_digest(std::move(cell.config));
        } catch (const Error& e) {
          throw Error(config_path + ": sweep cell " + std::to_string(i) + " (" + cell.overrides_text() + "): " +
                          e.what(),
                      ErrorKind::usage);
        }
        init_from_digests.emplace(given, cell.config.model.init_from_sha256);
      }
    }
    std::vector<std::string> values;
    for (const Assignment& a : cell.assignments) values.push_back(a.value);
    cell.name = cell_name(labels, values);
    cell.run_dir = (fs::path(plan.grid_dir) / cell.name).string();
    const auto [it, inserted] = names.emplace(cell.name, i);
    if (!inserted) {
      throw Error(config_path + ": sweep cells " + std::to_string(it->second) + " and " + std::to_string(i) +
                      " would share the run directory " + cell.run_dir +
                      " (their values differ only in a space after a comma, which names leave out); spell one differently",
                  ErrorKind::usage);
    }
    plan.cells.push_back(std::move(cell));
  }
  return plan;
}

}  // namespace sugar::sweep
