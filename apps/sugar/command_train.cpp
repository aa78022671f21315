// `sugar train CONFIG [--set key=value ...] [--out RUN_DIR] [--force]`,
// `sugar train --resume RUN_DIR [--set key=value ...]` and
// `sugar eval --run RUN_DIR [--checkpoint best|last]`.
#include "command_train.hpp"
#include "global_threads.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sugar/config/config_schema.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/error.hpp"
#include "sugar/train/trainer.hpp"

namespace sugar::cli {
namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out;
  std::string resume;
  bool force = false;
  bool no_progress = false;
  bool list_keys = false;
  CLI::Option* global_threads = nullptr;
};

struct EvalArgs {
  std::string run_dir;
  std::string checkpoint = "best";
  bool json = false;
};

std::string quoted(const std::string& text) {
  return text.find_first_of(" \t'\"") == std::string::npos ? text : "'" + text + "'";
}

// `sugar train` on a config with a `sweep:` grid trains one run: the config's own values, not any
// cell of the grid. Said once, so nobody mistakes it for a cell or for the whole sweep.
void warn_grid_ignored(const std::string& path, const config::ExperimentConfig& config) {
  if (config.sweep.empty() || dist::world().rank() != 0) return;
  uint64_t cells = 1;
  std::string axes, base;
  for (const config::SweepAxis& axis : config.sweep) {
    cells = std::min<uint64_t>(cells * axis.values.size(), uint64_t{1} << 40);
    axes += (axes.empty() ? "" : " x ") + axis.key + " (" + std::to_string(axis.values.size()) + ")";
    const config::ConfigField* field = config::find_field(axis.key);
    base += (base.empty() ? "" : ", ") + axis.key + "=" + (field ? field->write(config) : "?");
  }
  spdlog::warn("{} has a sweep grid of {} cells ({}); sugar train ignores it and trains the config's own values "
               "({}); to run the grid: sugar sweep {} (--dry-run lists the cells)",
               path, cells, axes, base, quoted(path));
}

// One line per config key, straight from the key table: path, kind, what it allows, default. The
// bounds live in the table only; this listing and the messages print them from there.
int list_keys() {
  const config::ExperimentConfig defaults;
  std::printf("%-32s %-13s %-64s %s\n", "KEY", "KIND", "ALLOWED", "DEFAULT");
  for (const config::ConfigField& field : config::config_fields()) {
    std::printf("%-32s %-13s %-64s %s\n", field.path.c_str(), config::kind_name(field.kind),
                config::allowed_values(field).c_str(), field.write(defaults).c_str());
  }
  // The two keys whose default is the model family's (config/load_config.cpp resolves them).
  std::printf("\nmodel.activation and model.init, when a config leaves them out, are the model's own:\n");
  for (const std::string& name : models::model_names())
    std::printf("  %-16s activation %-24s init %s\n", name.c_str(), models::default_activation(name).c_str(),
                nn::init::conv_init_name(models::default_init(name)).c_str());
  return 0;
}

int run_train(const TrainArgs& args) {
  if (args.list_keys) return list_keys();
  const std::vector<std::string> overrides = with_global_threads(args.overrides, args.global_threads);
  std::string command = "sugar train";
  if (!args.resume.empty()) command += " --resume " + quoted(args.resume);
  if (!args.config.empty()) command += " " + quoted(args.config);
  for (const std::string& o : overrides) command += " --set " + quoted(o);
  if (!args.out.empty()) command += " --out " + quoted(args.out);
  if (args.force) command += " --force";

  train::TrainOptions options;
  options.command = command;
  if (args.no_progress) options.progress_bar = false;
  train::TrainResult result;
  if (!args.resume.empty()) {
    if (!args.config.empty()) {
      throw Error("train: give either CONFIG or --resume RUN_DIR, not both (a resumed run keeps its config.yaml; "
                  "change it with --set)",
                  ErrorKind::usage);
    }
    if (!args.out.empty() || args.force) throw Error("train: --out and --force do not apply to --resume", ErrorKind::usage);
    result = train::resume(args.resume, overrides, options);
  } else {
    if (args.config.empty()) throw Error("train: a CONFIG file or --resume RUN_DIR is required", ErrorKind::usage);
    options.run_dir = args.out;
    options.force = args.force;
    const config::ExperimentConfig config = config::load_config(args.config, overrides);
    warn_grid_ignored(args.config, config);
    result = train::train(config, options);
  }
  // Under mpirun every rank returns the same result; rank 0 reports it.
  const bool report = dist::world().rank() == 0;
  if (result.state == "interrupted") {
    if (report && !result.started) {
      std::printf("run %s stopped before training began; nothing was written\n", result.run_dir.c_str());
    } else if (report) {
      std::printf("run %s interrupted after %lld epochs; continue with: sugar train --resume %s\n",
                  result.run_dir.c_str(), static_cast<long long>(result.epochs_done), result.run_dir.c_str());
    }
    // The shell's convention for a program ended by a signal: 130 for SIGINT, 143 for SIGTERM.
    return 128 + (result.stop_signal != 0 ? result.stop_signal : SIGINT);
  }
  if (report) {
    std::printf("run %s finished: %lld epochs, best top-1 %.2f%% at epoch %lld (%s/metrics.csv)\n",
                result.run_dir.c_str(), static_cast<long long>(result.epochs_done), result.best_eval_top1,
                static_cast<long long>(result.best_epoch), result.run_dir.c_str());
  }
  return 0;
}

int run_eval(const EvalArgs& args) {
  const train::EvalResult result = train::evaluate_run(args.run_dir, args.checkpoint);
  if (args.json) {
    const nlohmann::json out = {{"run", args.run_dir}, {"checkpoint", args.checkpoint}, {"split", "test"},
                                {"samples", result.samples}, {"loss", result.loss}, {"top1", result.top1},
                                {"top5", result.top5}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s (%s checkpoint), test set of %lld images: loss %.4f  top-1 %.2f%%  top-5 %.2f%%\n",
                args.run_dir.c_str(), args.checkpoint.c_str(), static_cast<long long>(result.samples), result.loss,
                result.top1, result.top5);
  }
  return 0;
}

}  // namespace

std::vector<Command> add_train_commands(CLI::App& parent) {
  auto train_args = std::make_shared<TrainArgs>();
  train_args->global_threads = parent.get_option_no_throw("--threads");
  CLI::App* train = parent.add_subcommand("train", "Train a model from a YAML config and write a run directory");
  train->add_option("config", train_args->config, "The experiment config (YAML), e.g. configs/quickstart.yaml")
      ->type_name("CONFIG");
  train->add_option("--set", train_args->overrides,
                    "Override a config key, e.g. --set optim.lr=0.05 --set train.epochs=10 (repeatable)")
      ->type_name("KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  train->add_option("--out", train_args->out, "The run directory (default: runs/<name>)")->type_name("RUN_DIR");
  train->add_option("--resume", train_args->resume,
                    "Continue the run in RUN_DIR from its last.safetensors; --set may then only change keys that "
                    "do not alter the math (threads, eval batch size, ...) or extend train.epochs under a "
                    "constant/step/multistep schedule")
      ->type_name("RUN_DIR");
  train->add_flag("--force", train_args->force, "Replace an existing run directory");
  train->add_flag("--no-progress", train_args->no_progress,
                  "Log progress lines instead of drawing a progress bar, even on a terminal");
  train->add_flag("--list-keys", train_args->list_keys,
                  "Print every config key with its kind, allowed values (bounds included) and default, then exit");
  train->footer(
      "\nThe run directory holds config.yaml (resolved), metrics.csv (one row per epoch), train.log,\n"
      "last.safetensors, best.safetensors, status.json and run.json. The thread count is train.threads\n"
      "(the global --threads sets it). Same config, seed and threads on the same machine give identical\n"
      "metrics. Ctrl-C, SIGTERM, SIGHUP, SIGQUIT or SIGUSR2 stops at the next batch, saves last.safetensors\n"
      "and exits with 128 + the signal (130 for Ctrl-C); the same signal again exits at once. SIGUSR1 saves\n"
      "a checkpoint and goes on. One process owns a run directory: a second one is refused, naming it.\n"
      "--resume checks every run file first and refuses a config.yaml edited after the run started. A\n"
      "NaN/Inf loss or gradient stops the run (exit 1), or skips the batch with --set\n"
      "train.on_nonfinite=skip_batch. 'sugar train --list-keys' lists the config keys,\n"
      "what each allows (every number has a lower and an upper bound) and its default.\n"
      "\nExamples:\n"
      "  sugar train configs/quickstart.yaml\n"
      "  sugar train configs/quickstart.yaml --set train.epochs=2 --out runs/try\n"
      "  sugar train --resume runs/quickstart\n");

  auto eval_args = std::make_shared<EvalArgs>();
  CLI::App* eval = parent.add_subcommand("eval", "Evaluate a run's checkpoint on the test set (loss, top-1, top-5)");
  eval->add_option("--run", eval_args->run_dir, "The run directory")->required()->type_name("RUN_DIR");
  eval->add_option("--checkpoint", eval_args->checkpoint, "Which checkpoint: best or last (default: best)")
      ->check(CLI::IsMember({"best", "last"}))
      ->type_name("WHICH");
  eval->add_flag("--json", eval_args->json, "Print the result as one JSON object");

  return {{train, [train_args] { return run_train(*train_args); }},
          {eval, [eval_args] { return run_eval(*eval_args); }}};
}

}  // namespace sugar::cli
