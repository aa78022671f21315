#pragma once
// `sugar train --resume`: validate, then commit. Every file of the run directory is read and checked
// before anything is written (plan_resume), so a resume that is refused leaves the directory exactly
// as it was; commit_resume then writes what the plan decided.
//
// What is checked:
//   config.yaml        parses; with the --set overrides applied, every value that changes the math
//                      equals what last.safetensors recorded (its `config_math`), except a key given
//                      with --set that may change (train.epochs under a constant, step or multistep
//                      schedule, never below the epochs done). A value edited in config.yaml by hand
//                      is refused, naming the key, both values and the files. A checkpoint written
//                      before config_math existed resumes with a warning that edits cannot be seen.
//   last.safetensors   a training checkpoint with consistent counters (train/training_position.hpp);
//                      the model and optimizer entries are checked when the session loads them.
//   metrics.csv        every row parses, epochs 1, 2, ... up to at least the checkpoint's epoch;
//   neurons.csv        every row parses. Rows after the checkpoint's epoch are discarded, and said so.
//   status.json        a status this program wrote, not further along than the checkpoint.
//   run.json           a JSON object.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/run_dir/csv_files.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/train/training_position.hpp"

namespace sugar::train {

struct ResumePlan {
  std::string dir;
  config::ExperimentConfig config;  // config.yaml with the overrides
  bool config_changed = false;      // whether config.yaml must be rewritten
  io::SafetensorsFile checkpoint;
  std::string checkpoint_path;
  TrainingPosition position;
  std::optional<run_dir::StatusRecord> status;
  run_dir::KeptRows metrics;
  std::optional<run_dir::KeptRows> neurons;  // nullopt: no neurons.csv yet
  std::vector<std::string> notes;            // what the plan found that the user should read (warnings)

  // The run completed its epochs before and said so, and its files hold nothing to drop: a resume
  // has nothing to do or write.
  bool nothing_to_do() const {
    return position.epoch >= config.train.epochs && position.batch == 0 && status && status->state == "finished" &&
           !metrics.drops_rows() && !(neurons && neurons->drops_rows());
  }
};

// Reads and checks the run directory; writes nothing. Throws sugar::Error: usage for a refused
// override, runtime for a damaged or edited run file (naming the file, and the line for CSV rows).
ResumePlan plan_resume(const std::string& dir, const std::vector<std::string>& overrides);

// Writes what the plan decided: config.yaml (when the overrides changed it), metrics.csv and
// neurons.csv cut to the checkpoint's epoch (when rows are discarded), and removes temporary files
// left by killed writes. The caller holds the directory's lock.
void commit_resume(const ResumePlan& plan);

// Throws sugar::Error (usage) when `resumed` differs from `original` in a key that changes the run's
// math, naming the keys; `completed_epochs` bounds how far train.epochs may be lowered. (The check for
// checkpoints without config_math, and the sweep's test of whether a run directory fits a cell.)
void check_resume_changes(const config::ExperimentConfig& original, const config::ExperimentConfig& resumed,
                          int64_t completed_epochs);

}  // namespace sugar::train
