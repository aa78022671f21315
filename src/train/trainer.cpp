// sugar train, sugar train --resume and sugar eval: each validates everything and builds the session
// (session.hpp) before the first write to the run directory, then hands the epochs to the training run
// (training_run.hpp).
#include "sugar/train/trainer.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/lock.hpp"
#include "sugar/run_dir/new_run_directory.hpp"
#include "sugar/runtime.hpp"
#include "sugar/signals.hpp"
#include "sugar/train/checkpoint.hpp"
#include "sugar/train/resume_plan.hpp"
#include "sugar/train/run_info.hpp"
#include "session.hpp"
#include "training_run.hpp"

namespace sugar::train {
namespace {

namespace fs = std::filesystem;
using run_dir::path_in;

// A stop signal that arrived while the run was being set up, agreed by all ranks (each must take the
// same branch: one going on alone would wait forever in its first all-reduce); 0 for none.
int stop_signal_before_start(dist::Communicator& ranks, const TrainOptions& options) {
  int64_t stop = options.handle_signals ? SignalWatch::stop_signal() : 0;
  if (ranks.size() > 1) ranks.allreduce_max(&stop, 1);
  return static_cast<int>(stop);
}

TrainResult stopped_before_start(const std::string& dir, int stop) {
  spdlog::warn("stopped by signal {} before training began; nothing was written to {}", stop, dir);
  TrainResult result;
  result.run_dir = dir;
  result.state = "interrupted";
  result.stop_signal = stop;
  result.started = false;
  return result;
}

}  // namespace

TrainResult train(const config::ExperimentConfig& config, const TrainOptions& options) {
  const std::string dir = options.run_dir.empty() ? (fs::path("runs") / config.name).string() : options.run_dir;
  // Watched from the start: a stop signal while the data loads ends the command with nothing written.
  std::optional<SignalWatch> signals;
  if (options.handle_signals) signals.emplace();
  dist::Communicator& ranks = training_ranks();
  const bool writer = ranks.rank() == 0;  // only rank 0 touches the run directory
  std::optional<run_dir::NewRunDirectory> target;
  if (writer) target.emplace(dir, options.force);
  // Build everything before writing anything, so a typo in the data path leaves nothing behind.
  std::optional<Session> session;
  try {
    session.emplace(build_session(config, ranks));
    start_from_initial_weights(*session);
  } catch (...) {
    if (target) target->abandon();
    throw;
  }
  if (const int stop = stop_signal_before_start(ranks, options)) {
    if (target) target->abandon();
    return stopped_before_start(dir, stop);
  }
  std::optional<MetricsCsv> csv;
  std::optional<NeuronsCsv> neurons;
  if (writer) {
    target->commit();  // (a refusal here leaves what take() created removed again)
    try {
      // The session's config: with model.init_from's digest filled in.
      io::write_file_atomic(path_in(dir, run_dir::kConfigFile), config::to_yaml(session->config));
      write_run_info(path_in(dir, run_dir::kRunInfoFile), provenance(*session, 1, options.command));
      csv.emplace(MetricsCsv::create(path_in(dir, run_dir::kMetricsFile)));
      if (config.train.neuron_stats) neurons.emplace(NeuronsCsv::create(path_in(dir, run_dir::kNeuronsFile)));
    } catch (...) {
      csv.reset();
      neurons.reset();
      target->discard();
      throw;
    }
  }
  return run_training(*session, dir, options, TrainingPosition{}, {csv ? &*csv : nullptr, neurons ? &*neurons : nullptr});
}

TrainResult resume(const std::string& dir, const std::vector<std::string>& overrides, const TrainOptions& options) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw Error("--resume: " + dir + " is not a directory" + (error ? " (" + error.message() + ")" : ""),
                ErrorKind::usage);
  }
  const std::string config_path = path_in(dir, run_dir::kConfigFile);
  const std::string checkpoint_path = path_in(dir, run_dir::kLastCheckpoint);
  std::optional<SignalWatch> signals;  // as in train(): a stop before the first write changes nothing
  if (options.handle_signals) signals.emplace();
  dist::Communicator& ranks = training_ranks();
  const bool writer = ranks.rank() == 0;  // every rank reads the run directory; only rank 0 writes
  // The lock first: a directory another process owns is refused as such, whatever its files say now.
  std::optional<run_dir::RunDirLock> lock;
  if (writer) lock.emplace(run_dir::RunDirLock::acquire(dir, "--resume"));
  // Validate, then commit: everything is read and checked, and the session built, before the first write.
  ResumePlan plan;
  std::optional<Session> session;
  try {
    if (!fs::exists(config_path, error)) throw Error("--resume: " + config_path + " does not exist", ErrorKind::usage);
    if (!fs::exists(checkpoint_path, error)) {
      throw Error("--resume: " + checkpoint_path + " does not exist (the run ended before its first checkpoint; "
                  "start it again with --force)",
                  ErrorKind::usage);
    }
    plan = plan_resume(dir, overrides);
    if (writer)
      for (const std::string& note : plan.notes) spdlog::warn("{}", note);
    if (plan.nothing_to_do()) {
      spdlog::info("run {} already completed its {} epochs; nothing to do", dir, plan.config.train.epochs);
      if (lock) lock->abandon();
      TrainResult done;
      done.run_dir = dir;
      done.state = "finished";
      done.epochs_done = plan.position.epoch;
      done.best_eval_top1 = plan.position.best_eval_top1;
      done.best_epoch = plan.position.best_epoch;
      return done;
    }
    session.emplace(build_session(plan.config, ranks));
    SUGAR_CHECK(plan.position.batch <= session->train_loader->batches_per_epoch(), checkpoint_path, ": batch ",
                plan.position.batch, " is beyond the ", session->train_loader->batches_per_epoch(),
                " batches of an epoch");
    load_checkpoint(plan.checkpoint, *session->model, session->optimizer.get());
  } catch (...) {
    if (lock) lock->abandon();
    throw;
  }
  if (const int stop = stop_signal_before_start(ranks, options)) {
    if (lock) lock->abandon();
    return stopped_before_start(dir, stop);
  }
  plan.checkpoint = io::SafetensorsFile{};  // loaded: its bytes are not needed any more
  std::optional<MetricsCsv> csv;
  std::optional<NeuronsCsv> neurons;
  if (writer) {
    commit_resume(plan);
    write_run_info(path_in(dir, run_dir::kRunInfoFile), provenance(*session, plan.position.epoch + 1, options.command));
    csv.emplace(MetricsCsv::append_to(path_in(dir, run_dir::kMetricsFile)));
    if (plan.config.train.neuron_stats) {
      const std::string neurons_path = path_in(dir, run_dir::kNeuronsFile);
      neurons.emplace(plan.neurons ? NeuronsCsv::append_to(neurons_path) : NeuronsCsv::create(neurons_path));
    }
  }
  if (plan.position.epoch >= plan.config.train.epochs) {
    spdlog::info("run {} already completed its {} epochs; nothing to do", dir, plan.config.train.epochs);
  }
  TrainOptions resumed_options = options;
  resumed_options.run_dir = dir;
  return run_training(*session, dir, resumed_options, plan.position,
                      {csv ? &*csv : nullptr, neurons ? &*neurons : nullptr});
}

EvalResult evaluate_run(const std::string& dir, const std::string& checkpoint) {
  SUGAR_CHECK(checkpoint == "best" || checkpoint == "last", "eval: --checkpoint must be best or last, got '",
              checkpoint, "'");
  const std::string config_path = path_in(dir, run_dir::kConfigFile);
  std::error_code error;
  if (!fs::exists(config_path, error)) {
    throw Error("eval: " + config_path + " does not exist (is " + dir + " a run directory?)", ErrorKind::usage);
  }
  const std::string checkpoint_path =
      path_in(dir, checkpoint == "best" ? run_dir::kBestCheckpoint : run_dir::kLastCheckpoint);
  if (!fs::exists(checkpoint_path, error)) throw Error("eval: " + checkpoint_path + " does not exist", ErrorKind::usage);
  const config::ExperimentConfig config = config::load_run_config(config_path);
  keep_large_blocks_in_the_heap();
  const io::SafetensorsFile file = io::SafetensorsFile::read(checkpoint_path);
  // The model evaluated must be the model trained: an activation or a normalisation edited in
  // config.yaml fits the same weights and would evaluate something else without a word. (train.epochs
  // alone may differ: a run extended after its best epoch.)
  if (!recorded_math_values(file.metadata(), checkpoint_path)) {
    spdlog::warn("{} does not record the config it was trained with (written by an older Sugar): an edit of {} "
                 "cannot be detected", checkpoint_path, config_path);
  }
  const std::vector<ConfigDifference> edited = config_differences(file.metadata(), config, checkpoint_path, {"train.epochs"});
  if (!edited.empty()) {
    throw Error("eval: " + config_path + " has " + edited[0].key + ": " + edited[0].value + ", but " + checkpoint_path +
                " was trained with " + edited[0].key + ": " + edited[0].recorded +
                " (config.yaml was edited after the run); put the value back to evaluate the trained model");
  }
  const data::DataSplits splits = data::load_data(config.data);
  std::shared_ptr<nn::Module> model = build_model(config, splits);
  load_checkpoint(file, *model, nullptr);
  auto loader = build_eval_loader(config, splits.test, splits.normalization);
  const EvalResult result = evaluate(*model, *loader, config.train.dtype);
  if (result.nonfinite_samples > 0) {
    throw Error("eval: the model of " + checkpoint_path + " produces non-finite outputs (NaN or Inf logits) for " +
                std::to_string(result.nonfinite_samples) + " of " + std::to_string(result.samples) +
                " test images; its accuracy would mean nothing");
  }
  if (!result.finite()) {
    throw Error("eval: the model of " + checkpoint_path + " has an infinite test loss (its logits are finite but "
                "so large that the softmax gives a label probability 0); its accuracy would mean little");
  }
  return result;
}

}  // namespace sugar::train
