#include "sugar/sweep/run_state.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "sugar/config/config_schema.hpp"
#include "sugar/error.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/train/resume_plan.hpp"

namespace sugar::sweep {
namespace {

namespace fs = std::filesystem;

std::string in_dir(const std::string& dir, const char* file) { return (fs::path(dir) / file).string(); }

bool exists(const std::string& path) {
  std::error_code error;
  return fs::exists(path, error);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Compares the run's config with the cell's: a conflict message, or "" with the free changes filled in.
std::string compare_configs(const config::ExperimentConfig& existing, const config::ExperimentConfig& cell,
                            RunInspection& out) {
  const std::vector<std::string>& free_keys = config::non_math_keys();
  std::vector<std::string> math;
  for (const std::string& key : config::diff_keys(existing, cell)) {
    const bool is_free = std::find(free_keys.begin(), free_keys.end(), key) != free_keys.end();
    if (!is_free) {
      math.push_back(key);
    } else if (key != "name" && key != "sweep") {
      out.resume_overrides.push_back(key + "=" + config::find_field(key)->write(cell));
    }
  }
  if (math.empty()) return "";
  if (math == std::vector<std::string>{"train.epochs"}) {
    try {
      train::check_resume_changes(existing, cell, out.epochs_done);
      out.resume_overrides.push_back("train.epochs=" + std::to_string(cell.train.epochs));
      return "";
    } catch (const Error& e) {
      return "its config.yaml has train.epochs " + std::to_string(existing.train.epochs) + ", the cell " +
             std::to_string(cell.train.epochs) + ", and the run cannot be changed to that (" + e.what() + ")";
    }
  }
  return "it holds a run of another config (config.yaml differs in " + joined(math) +
         "); use another --runs directory, or remove the run";
}

}  // namespace

const char* to_string(RunState state) {
  switch (state) {
    case RunState::absent: return "new";
    case RunState::finished: return "finished";
    case RunState::resumable: return "resumable";
    case RunState::restart: return "restart";
    case RunState::failed: return "failed";
    case RunState::conflict: return "conflict";
  }
  return "?";
}

RunInspection inspect_run(const std::string& run_dir, const config::ExperimentConfig& cell_config) {
  RunInspection out;
  std::error_code error;
  if (!fs::exists(run_dir, error)) return out;
  if (!fs::is_directory(run_dir, error)) {
    out.state = RunState::conflict;
    out.detail = "it exists and is not a directory";
    return out;
  }
  if (fs::is_empty(run_dir, error)) return out;

  const std::string config_path = in_dir(run_dir, run_dir::kConfigFile);
  const std::string status_path = in_dir(run_dir, run_dir::kStatusFile);
  out.has_checkpoint = exists(in_dir(run_dir, run_dir::kLastCheckpoint));
  try {
    // The one reader of status.json (run_dir/status.hpp), strict like every other.
    if (const std::optional<run_dir::StatusRecord> status = run_dir::read_status(status_path)) {
      out.status = status->state;
      out.epochs_done = status->epoch;
      out.epochs = status->epochs;
      out.detail = status->message;
    }
  } catch (const Error&) {
    out.status = "";  // a damaged status.json (not one `sugar train` wrote whole): the checkpoint decides
  }
  if (!exists(config_path)) {
    const bool looks_like_run = run_dir::looks_like_run(run_dir);
    out.state = looks_like_run ? RunState::restart : RunState::conflict;
    if (!looks_like_run) {
      out.detail = "it is not a Sugar run directory (no config.yaml, status.json or metrics.csv); remove it or use "
                   "another --runs directory";
    }
    return out;
  }
  try {
    const config::ExperimentConfig existing = config::load_run_config(config_path);
    const std::string conflict = compare_configs(existing, cell_config, out);
    if (!conflict.empty()) {
      out.state = RunState::conflict;
      out.detail = conflict;
      out.resume_overrides.clear();
      return out;
    }
  } catch (const Error& e) {
    out.state = RunState::conflict;
    out.detail = std::string("its config.yaml cannot be read: ") + e.what();
    return out;
  }
  if (out.status == "finished" && out.epochs_done >= cell_config.train.epochs) {
    out.state = RunState::finished;
  } else if (out.status == "failed") {
    out.state = RunState::failed;
  } else {
    out.state = out.has_checkpoint ? RunState::resumable : RunState::restart;
  }
  if (out.status != "failed") out.detail.clear();
  return out;
}

}  // namespace sugar::sweep
