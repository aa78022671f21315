#include "sugar/report/run_data.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/status.hpp"

namespace sugar::report {
namespace fs = std::filesystem;
namespace {

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
    if (fs::exists(fs::path(path) / run_dir::kConfigFile)) {
      add(path);
      continue;
    }
    // Entries that cannot be looked at (a symlink loop, a dangling link) are not runs: skipped, with
    // error codes, instead of ending the whole report.
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, error);
         it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) {
        spdlog::warn("report: skipping {}: {}", it->path().string(), error.message());
        error.clear();
        continue;
      }
      if (!it->is_directory(error)) continue;
      if (fs::exists(it->path() / run_dir::kConfigFile, error)) {
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
    run.config = config::load_run_config((root / run_dir::kConfigFile).string());
  } catch (const Error& e) {
    // A config.yaml the trainer wrote is a file on disk, not the user's command line: runtime.
    throw Error(e.what(), ErrorKind::runtime);
  }
  const fs::path metrics = root / run_dir::kMetricsFile;
  if (fs::exists(metrics)) run.metrics = read_metrics_csv(metrics.string());
  // The trainer writes one row per epoch from 1 up to train.epochs: any other row was not its.
  for (size_t i = 0; i < run.metrics.size(); ++i) {
    const MetricsRow& row = run.metrics[i];
    if (row.epoch != static_cast<int64_t>(i) + 1 || row.epoch > run.config.train.epochs) {
      throw Error(metrics.string() + ":" + std::to_string(row.line) + ": epoch " + std::to_string(row.epoch) +
                  " where epoch " + std::to_string(i + 1) + " (of the " + std::to_string(run.config.train.epochs) +
                  " in config.yaml) was expected");
    }
  }
  const fs::path neurons = root / run_dir::kNeuronsFile;
  if (fs::exists(neurons)) run.neurons = read_neurons_csv(neurons.string());
  run.state = run_dir::read_state((root / run_dir::kStatusFile).string());
  run.unfinished_reason = unfinished_reason(run);
  return run;
}

}  // namespace sugar::report
