#pragma once
// The training loop of `sugar train`: from an ExperimentConfig to a finished run directory.
//
// The run directory's files are listed in run_dir/layout.hpp; one process owns a directory at a time
// (run_dir/lock.hpp).
//
// Each epoch: the LR schedule sets the LR before every step (once per iteration), forward,
// cross-entropy with label smoothing, backward, optimizer step; then evaluation in eval mode without
// gradients (every train.eval_every epochs and after the last); then the dead-unit measurement over
// the test set (train.neuron_stats: during that evaluation when it is on the test set, else a separate
// no-gradient pass; either way its time is not in epoch_time_s); then the CSV rows, then the checkpoints.
// The gradient statistics of neurons.csv are collected during the epoch's training steps.
//
// Determinism: everything random is a function of (seed, purpose, epoch/parameter/sample/call), so
// two runs with the same config, seed and thread count on the same machine and build produce
// identical metrics.csv files apart from epoch_time_s and train_imgs_per_sec. Other thread counts,
// CPUs or oneDNN versions change the rounding of convolutions and therefore the numbers.
//
// Resuming: `resume` restores model, optimizer, BatchNorm counters, random-call counters, step and
// best metric from last.safetensors and continues with the same data order and augmentation, so the
// finished metrics.csv equals that of an uninterrupted run (time columns aside). Every run file is
// checked before anything is written (train/resume_plan.hpp: validate, then commit); overrides on
// resume may only change keys that do not alter the math (config::non_math_keys()) or train.epochs
// under a schedule that does not depend on it (constant, step, multistep). A run started from
// model.init_from resumes without reading that file (the checkpoint holds the weights): it may have
// been moved, changed or deleted since; config.yaml's model.init_from_sha256 still says what the run
// started from, and a resume refuses an edit of it (train/initial_weights.hpp).
//
// Ownership: train and resume (rank 0 under mpirun) hold the run directory's lock for the whole run
// (run_dir/lock.hpp); a second writer is refused naming the owner.
//
// Signals (sugar/signals.hpp): SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR2 stop at the next batch
// boundary and save last.safetensors mid-epoch, which resumes exactly; train.checkpoint_every_steps
// adds such mid-epoch checkpoints periodically, and SIGUSR1 asks for one at the next boundary. The
// same stop signal a second time kills the process at once (status.json says so); every file is
// replaced atomically, so the directory still resumes from its last checkpoint. `sugar train` exits
// 128 + the signal (130, 143, 129, ...) after an interrupt.
//
// Non-finite values (train.on_nonfinite): a NaN or Inf loss, or a NaN or Inf in any parameter's
// gradient (checked after backward, before the optimizer step), either stops the run (`stop`: a
// runtime error naming epoch, step and what was non-finite; status.json says failed; nothing is
// written after the last good checkpoint) or skips the batch (`skip_batch`: no update, and the
// BatchNorm running statistics and counters the batch's forward touched are restored). The step
// counter, and so the LR schedule, still advances past a skipped batch. (neurons.csv's gradient
// statistics of an epoch include a batch skipped for a non-finite gradient: its backward ran.)
//
// neurons.csv is resumed like metrics.csv, with one difference: the gradient statistics of an epoch
// resumed mid-way cover only the steps after the resume (they are not saved in checkpoints).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/train/evaluate.hpp"
#include "sugar/train/metrics_csv.hpp"

namespace sugar::train {

struct TrainOptions {
  std::string run_dir;                    // empty: runs/<config.name>
  bool force = false;                     // replace an existing run directory (one that holds a Sugar run)
  std::optional<bool> progress_bar;       // default: when stderr is a terminal
  std::chrono::seconds heartbeat{30};     // status.json refresh interval
  std::chrono::milliseconds log_interval{30000};  // progress log lines when not on a terminal
  bool handle_signals = true;             // stop signals end the run cleanly as "interrupted" (sugar/signals.hpp)
  std::string command;                    // the command line, recorded in run.json
  // Called after every optimizer step with the epoch (1-based) and the steps done so far: a hook for
  // programs embedding the trainer (and for tests, which raise SIGINT here to interrupt a run).
  std::function<void(int64_t epoch, int64_t step)> after_step;
  // Called after every backward pass, before the gradients are checked for NaN/Inf and applied, with
  // the epoch and the step being taken (1-based) and the model: tests poison a gradient here to
  // exercise train.on_nonfinite.
  std::function<void(int64_t epoch, int64_t step, nn::Module& model)> after_backward;
};

struct TrainResult {
  std::string run_dir;
  std::string state;  // "finished" or "interrupted"
  bool started = true;  // false: a stop signal came before training began, and nothing was written
  int stop_signal = 0;  // the signal that interrupted the run (SIGINT, SIGTERM, SIGHUP, ...); 0 otherwise
  int64_t epochs_done = 0;
  double best_eval_top1 = -1;
  int64_t best_epoch = 0;
  std::vector<EpochMetrics> epochs;  // the rows written by this call
};

// Trains a new run. An existing non-empty run directory is an error (usage) unless options.force.
// With model.init_from, the run starts from that file's weights, and the config.yaml it writes (and
// every checkpoint's config_math) records the file's SHA-256 as model.init_from_sha256.
TrainResult train(const config::ExperimentConfig& config, const TrainOptions& options = {});

// Continues the run in `run_dir` from last.safetensors, with `overrides` ("key=value") applied to its
// config.yaml. options.run_dir and options.force are ignored.
TrainResult resume(const std::string& run_dir, const std::vector<std::string>& overrides = {},
                   const TrainOptions& options = {});

// `sugar eval`: the run's model with `checkpoint` ("best" or "last") loaded, evaluated on the test set.
EvalResult evaluate_run(const std::string& run_dir, const std::string& checkpoint = "best");

}  // namespace sugar::train
