#include "command_tune.hpp"
#include "config_shorthands.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "option_checks.hpp"
#include "sugar/bench/bench.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/ops/conv_algorithm_store.hpp"
#include "sugar/runtime.hpp"
#include "sugar/train/tune.hpp"

namespace sugar::cli {
namespace {

struct TuneArgs {
  ConfigArgs config;  // CONFIG, --set and the shorthands (--model, --batch, ...)
  int ranks = 1;
  std::optional<int64_t> classes;
  bool reset = false;
};

int run_tune(const TuneArgs& args) {
  const bool has_target =
      !args.config.file.empty() || !args.config.shorthands.empty() || !args.config.overrides.empty();
  if (!has_target && !args.reset)
    throw Error("tune: a CONFIG, --model NAME or --reset is required", ErrorKind::usage);

  const std::string file = ops::machine_choice_file();
  if (file.empty()) {
    throw Error("tune: this machine's store of convolution algorithm choices is off (SUGAR_CACHE_DIR=off, or no HOME): "
                "there is nothing to keep the measurements in",
                ErrorKind::usage);
  }
  if (args.reset) {
    const std::string deleted = ops::forget_machine_choices();
    std::printf("%s\n", deleted.empty() ? ("no choices stored yet (" + file + ")").c_str()
                                        : ("forgot this machine's convolution algorithm choices: deleted " + deleted).c_str());
    if (!has_target) return 0;
  }

  const config::ExperimentConfig config = load_config_args(args.config, "sugar tune");
  // The thread count the run will use, resolved as sugar train resolves it: timings depend on it.
  if (config.train.threads > 0) set_num_threads(config.train.threads);
  const train::TuneTarget target = train::config_tune_target(config, args.ranks, args.classes);
  spdlog::info("tune: measuring every convolution of {} on {} threads (each layer times both algorithms in "
               "interleaved pairs; keep the machine otherwise idle)",
               target.description, num_threads());
  const auto choices = train::tune_conv_algorithms(target);
  std::printf("%s, %d threads: %s\n", target.description.c_str(), num_threads(),
              nn::conv_algorithm_summary(choices).c_str());
  std::printf("(forward/backward-data/backward-weights: d = direct, W = Winograd; * = provisional)\n%s",
              nn::conv_algorithm_lines(choices).c_str());
  if (const std::string problem = ops::machine_store_problem(); !problem.empty())
    throw Error("tune: the measurements were not kept: " + problem);
  std::printf("kept in %s\n", file.c_str());
  if (const int64_t provisional = nn::count_provisional(choices); provisional > 0) {
    spdlog::warn("{} layer(s) are still provisional: their timings could not decide (too close to call, or other "
                 "processes used the machine); they run the prior until a later run or tune measures them clearly",
                 provisional);
  }
  return 0;
}

}  // namespace

Command add_tune_command(CLI::App& parent) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* app = parent.add_subcommand(
      "tune", "Measure the convolution algorithms (conv_algo auto) of a config's or a model's layers again, or forget them");
  ConfigArgs* config = &args->config;
  app->add_option("config", config->file,
                  "The experiment config whose model, data shape, batch and dtype to measure (default: the defaults "
                  "of a config, resnet18 on CIFAR-10 shapes, batch 128, with --model)")
      ->type_name("CONFIG");
  app->add_option("--set", config->overrides, "Override a config key, as in sugar train (repeatable)")
      ->type_name("KEY=VALUE");
  app->add_option("--ranks", args->ranks,
                  "Measure the per-process batch of an mpirun with this many ranks (train.batch_size / N; default: 1)")
      ->check(within<int>(1, 4096))
      ->type_name("N");
  std::string model_names;
  for (const std::string& name : models::model_names()) model_names += (model_names.empty() ? "" : ", ") + name;
  add_shorthand(app, config, "--model", "model.name", "The model (" + model_names + ")", "NAME");
  add_shorthand(app, config, "--batch", "train.batch_size", "Images per step", "N")
      ->check(within<int64_t>(1, bench::kMaxBatch));
  add_shorthand(app, config, "--dtype", "train.dtype", "f32 or bf16", "DTYPE");
  add_shorthand(app, config, "--activation", "model.activation", "Activation at every site", "SPEC");
  app->add_option("--classes", args->classes, "Classes of the classifier (default: the config's dataset's)")
      ->check(within<int64_t>(2, bench::kMaxClasses))
      ->type_name("K");
  app->add_flag("--reset", args->reset,
                "Forget this machine's stored choices first (alone: forget them and stop)");
  config->global_threads = parent.get_option_no_throw("--threads");
  app->footer(
      "\nauto times direct and Winograd convolution for each layer at its first call and keeps a clear\n"
      "result for every later run on this machine (~/.cache/sugar, or $SUGAR_CACHE_DIR), keyed by batch,\n"
      "threads, passes and input layout. Timings that cannot decide (too close, or other processes used\n"
      "the machine) run a documented prior, marked provisional, and the next run measures them again.\n"
      "tune measures every layer now, clear or not, and replaces what the store held: run it on a quiet\n"
      "machine, with the --threads the runs will use.\n"
      "\nExamples:\n"
      "  sugar --threads 2 tune configs/quickstart.yaml\n"
      "  sugar tune configs/paper/resnet18-cifar10.yaml --ranks 2     (for mpirun -np 2)\n"
      "  sugar tune --model vgg16 --batch 256\n"
      "  sugar tune --reset\n");
  return {app, [args] { return run_tune(*args); }};
}

}  // namespace sugar::cli
