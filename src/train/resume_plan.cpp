#include "sugar/train/resume_plan.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <spdlog/spdlog.h>

#include "sugar/config/config_schema.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/train/metrics_csv.hpp"
#include "sugar/train/neurons_csv.hpp"
#include "sugar/text.hpp"

namespace sugar::train {
namespace {

namespace fs = std::filesystem;
using run_dir::path_in;

// The keys the user gave with --set ("optim.lr=0.1" -> "optim.lr").
std::set<std::string> override_keys(const std::vector<std::string>& overrides) {
  std::set<std::string> keys;
  for (const std::string& o : overrides) keys.insert(o.substr(0, o.find('=')));
  return keys;
}

// The one change of a math key a resume allows: more (or as many) epochs under a schedule whose
// learning rates do not depend on the total. An epoch under way (a mid-epoch checkpoint) counts as one
// that must be finished: ending the run before it would leave a checkpoint ahead of its last row.
void check_epochs_change(const config::ExperimentConfig& resumed, int64_t completed_epochs, bool mid_epoch = false) {
  using optim::ScheduleKind;
  const ScheduleKind kind = resumed.schedule.name;
  const std::string& schedule = name_of(kind);
  const bool epoch_free = kind == ScheduleKind::constant || kind == ScheduleKind::step || kind == ScheduleKind::multistep;
  if (!epoch_free) {
    throw Error("--resume: train.epochs cannot change under the " + schedule +
                    " schedule, whose learning rates depend on the total number of epochs (only constant, step and "
                    "multistep schedules can be extended)",
                ErrorKind::usage);
  }
  if (resumed.train.epochs < completed_epochs) {
    throw Error("--resume: train.epochs=" + std::to_string(resumed.train.epochs) + " is fewer than the " +
                    std::to_string(completed_epochs) + " epochs already trained",
                ErrorKind::usage);
  }
  if (mid_epoch && resumed.train.epochs == completed_epochs) {
    throw Error("--resume: train.epochs=" + std::to_string(resumed.train.epochs) + " would end the run inside epoch " +
                    std::to_string(completed_epochs + 1) + ", which the checkpoint has begun; give at least " +
                    std::to_string(completed_epochs + 1),
                ErrorKind::usage);
  }
}

[[noreturn]] void refuse_overrides(const std::vector<std::string>& keys) {
  throw Error("--resume: cannot change " + text::join(keys) + ": it would change what the run computes; --set may only change " +
                  text::join(config::non_math_keys()) + ", or train.epochs under a constant, step or multistep schedule",
              ErrorKind::usage);
}

// Every value that changes the math must be what the checkpoint was trained with, unless --set
// changes a key that may change.
void check_against_checkpoint(const io::Metadata& metadata, const config::ExperimentConfig& resumed,
                              const std::set<std::string>& explicit_keys, const TrainingPosition& position,
                              const std::string& config_path, const std::string& checkpoint_path) {
  std::vector<std::string> refused;
  for (const auto& [key, value, recorded] : config_differences(metadata, resumed, checkpoint_path)) {
    if (explicit_keys.count(key) == 0) {
      throw Error("--resume: " + config_path + " has " + key + ": " + value + ", but " + checkpoint_path +
                  " was trained with " + key + ": " + recorded + " (config.yaml was edited after the run started); "
                  "put the value back" + (key == "train.epochs" ? ", or pass --set train.epochs=N" : ""));
    }
    if (key == "train.epochs") {
      check_epochs_change(resumed, position.epoch, position.batch > 0);
      continue;
    }
    refused.push_back(key);
  }
  if (!refused.empty()) refuse_overrides(refused);
}

config::ExperimentConfig load_config_of_run(const std::string& path) {
  try {
    return config::load_run_config(path);
  } catch (const Error& e) {
    // The run's own config.yaml is a file on disk, not the command line: a damaged run, exit 1.
    throw Error(std::string("--resume: ") + e.what(), ErrorKind::runtime);
  }
}

void check_run_info(const std::string& path) { io::read_json_object(path, "a run.json this program wrote"); }

std::string epochs_text(const std::vector<int64_t>& epochs) {
  std::vector<std::string> items;
  for (const int64_t e : epochs) items.push_back(std::to_string(e));
  return text::join(items);
}

}  // namespace

void check_resume_changes(const config::ExperimentConfig& original, const config::ExperimentConfig& resumed,
                          int64_t completed_epochs) {
  const std::vector<std::string>& free_keys = config::non_math_keys();
  std::vector<std::string> refused;
  for (const std::string& key : config::diff_keys(original, resumed)) {
    if (std::find(free_keys.begin(), free_keys.end(), key) != free_keys.end()) continue;
    if (key == "train.epochs") {
      check_epochs_change(resumed, completed_epochs);
      continue;
    }
    refused.push_back(key);
  }
  if (!refused.empty()) refuse_overrides(refused);
}

ResumePlan plan_resume(const std::string& dir, const std::vector<std::string>& overrides) {
  ResumePlan plan;
  plan.dir = dir;
  const std::string config_path = path_in(dir, run_dir::kConfigFile);
  plan.checkpoint_path = path_in(dir, run_dir::kLastCheckpoint);
  const config::ExperimentConfig original = load_config_of_run(config_path);
  plan.config = config::load_run_config(config_path, overrides);  // errors here are in the overrides: usage
  plan.config_changed = config::to_yaml(plan.config) != io::read_file(config_path);

  plan.checkpoint = io::SafetensorsFile::read(plan.checkpoint_path);
  plan.position = read_position(plan.checkpoint.metadata(), plan.checkpoint_path);
  if (recorded_math_values(plan.checkpoint.metadata(), plan.checkpoint_path)) {
    check_against_checkpoint(plan.checkpoint.metadata(), plan.config, override_keys(overrides), plan.position,
                             config_path, plan.checkpoint_path);
  } else {
    plan.notes.push_back(plan.checkpoint_path + " was written before checkpoints recorded their config: an edit of " +
                         config_path + " cannot be detected; check it matches the run");
    check_resume_changes(original, plan.config, plan.position.epoch);
  }

  plan.status = run_dir::read_status(path_in(dir, run_dir::kStatusFile));
  if (plan.status && plan.status->epoch > plan.position.epoch) {
    throw Error(path_in(dir, run_dir::kStatusFile) + ": says " + std::to_string(plan.status->epoch) +
                " epochs are done, but " + plan.checkpoint_path + " holds epoch " + std::to_string(plan.position.epoch));
  }
  check_run_info(path_in(dir, run_dir::kRunInfoFile));

  const std::string metrics_path = path_in(dir, run_dir::kMetricsFile);
  std::error_code error;
  if (!fs::exists(metrics_path, error)) {
    SUGAR_CHECK(plan.position.epoch == 0, metrics_path, " is missing, but ", plan.checkpoint_path, " is at epoch ",
                plan.position.epoch);
    plan.metrics.text = MetricsCsv::header_line() + "\n";
  } else {
    plan.metrics = run_dir::kept_metrics_rows(metrics_path, MetricsCsv::header_line(), plan.position.epoch);
  }
  const std::string neurons_path = path_in(dir, run_dir::kNeuronsFile);
  if (fs::exists(neurons_path, error))
    plan.neurons = run_dir::kept_neuron_rows(neurons_path, NeuronsCsv::header_line(), plan.position.epoch);

  for (const auto& [path, kept] : {std::pair{metrics_path, &plan.metrics}, std::pair{neurons_path, plan.neurons ? &*plan.neurons : nullptr}}) {
    if (kept == nullptr) continue;
    if (!kept->discarded_epochs.empty()) {
      plan.notes.push_back(path + ": discarding the rows of epoch " + epochs_text(kept->discarded_epochs) +
                           ", written after the checkpoint of epoch " + std::to_string(plan.position.epoch) +
                           " (the run stopped before saving it); they are trained again");
    }
    if (kept->torn_line != 0) {
      plan.notes.push_back(path + ":" + std::to_string(kept->torn_line) +
                           ": discarding a row cut off by a crash while it was written");
    }
  }
  return plan;
}

void commit_resume(const ResumePlan& plan) {
  for (const std::string& name : io::remove_stale_temporaries(plan.dir))
    spdlog::info("removed {}, left by a write that was killed before it completed", name);
  if (plan.config_changed) {
    // The overrides, or a hand edit of a key that does not change the math (or of the file's layout:
    // comments, line endings), are recorded in the resolved form every run directory holds.
    io::write_file_atomic(path_in(plan.dir, run_dir::kConfigFile), config::to_yaml(plan.config));
    spdlog::info("{}: rewritten with the config this session runs", path_in(plan.dir, run_dir::kConfigFile));
  }
  // The plan read both files: they change only when it drops rows (or metrics.csv is new).
  const std::string metrics_path = path_in(plan.dir, run_dir::kMetricsFile);
  std::error_code error;
  if (plan.metrics.drops_rows() || !fs::exists(metrics_path, error)) io::write_file_atomic(metrics_path, plan.metrics.text);
  if (plan.neurons && plan.neurons->drops_rows())
    io::write_file_atomic(path_in(plan.dir, run_dir::kNeuronsFile), plan.neurons->text);
}

}  // namespace sugar::train
