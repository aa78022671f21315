#include "command_bench.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <limits>
#include <optional>
#include <utility>
#include <vector>
#include <string>

#include "sugar/bench/bench.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/bench/peak.hpp"
#include "config_shorthands.hpp"
#include "option_checks.hpp"
#include "sugar/models/registry.hpp"

namespace sugar::cli {

namespace {

struct BenchArgs {
  ConfigArgs config;  // CONFIG, --set and the shorthands (--model, --batch, ...)
  std::optional<int> threads;  // --threads: train.threads, or --peak's thread count
  std::optional<int64_t> classes;
  std::string phase = "train";
  int64_t warmup = 3;
  int64_t iters = 10;
  bool fusion = true;
  bool json = false;
  bool peak = false;
};

int run_peak(const BenchArgs& args) {
  bench::PeakOptions options;
  options.threads = args.threads.value_or(0);
  spdlog::info("bench --peak: timing register-only multiply-add loops (a few seconds)");
  const bench::PeakResult result = bench::measure_peak(options);
  std::cout << (args.json ? bench::peak_to_json_text(result) + "\n" : bench::peak_to_table_text(result)) << std::flush;
  return 0;
}

int run_bench(const BenchArgs& args) {
  if (args.peak) return run_peak(args);
  bench::BenchOptions options;
  std::vector<std::string> threads;
  if (args.threads) threads.push_back("train.threads=" + std::to_string(*args.threads));
  options.config = load_config_args(args.config, "sugar bench", threads);
  options.classes = args.classes;
  options.phase = args.phase == "infer" ? bench::Phase::infer : bench::Phase::train;
  options.warmup = args.warmup;
  options.iters = args.iters;
  options.fusion = args.fusion;
  const config::ExperimentConfig& c = options.config;
  // Logged once the model is built, so that a bad model or activation is the only line printed.
  const bench::BenchResult result =
      bench::run_benchmark(options, [&](int64_t index, int64_t total, bool warmup) {
        if (index == 0)
          spdlog::info("bench: {} ({}, {}, {}, batch {}), {} warm-up + {} timed steps", c.model.name,
                       c.model.activation, name_of(c.train.dtype), args.phase, c.train.batch_size, options.warmup,
                       options.iters);
        spdlog::info("{} step {}/{}", warmup ? "warm-up" : "timed", index + 1, total);
      });
  if (const int64_t provisional = nn::count_provisional(result.conv_algorithms); provisional > 0)
    spdlog::warn("{} convolution layer(s) ran provisional algorithm choices (their timings could not decide: too "
                 "close to call, or other processes used the machine); 'sugar tune --model {} --batch {}' on a "
                 "quiet machine measures them again",
                 provisional, c.model.name, c.train.batch_size);
  std::cout << (args.json ? bench::to_json_text(result) + "\n" : bench::to_table_text(result)) << std::flush;
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* app = parent.add_subcommand(
      "bench", "Measure training or inference speed (images/s) of a config's model on random inputs, with time per op");
  ConfigArgs* config = &args->config;
  app->add_option("config", config->file,
                  "An experiment config: its model, optimizer, batch, dtype, threads, conv_algo and recompute, on "
                  "random images of its dataset's shape (default: the defaults of a config, resnet18 on CIFAR-10 "
                  "shapes, batch 128)")
      ->type_name("CONFIG");
  app->add_option("--set", config->overrides, "Override a config key, as in sugar train (repeatable)")
      ->type_name("KEY=VALUE");
  std::string model_names;
  for (const std::string& name : models::model_names()) model_names += (model_names.empty() ? "" : ", ") + name;
  add_shorthand(app, config, "--model", "model.name", "The model (" + model_names + ")", "NAME");
  add_shorthand(app, config, "--activation", "model.activation", "Activation at every site", "SPEC");
  add_shorthand(app, config, "--batch", "train.batch_size", "Images per step, in both phases", "N")
      ->check(within<int64_t>(1, bench::kMaxBatch));
  app->add_option("--threads", args->threads,
                  "Threads (default: those of 'sugar --threads', else OMP_NUM_THREADS, else all cores; shorthand for "
                  "--set train.threads=T)")
      ->check(within<int>(0, bench::kMaxThreads))
      ->type_name("T");
  add_shorthand(app, config, "--dtype", "train.dtype", "Compute data type (f32 or bf16; bf16 needs AVX-512)", "DTYPE");
  add_shorthand(app, config, "--conv-algo", "train.conv_algo",
                "Convolution algorithm: auto (per layer, measured in the first step), direct or winograd (where "
                "oneDNN has it)",
                "ALGO");
  add_shorthand(app, config, "--seed", "seed", "Seed of the weights, images and labels", "S");
  add_shorthand_flag(app, config, "--recompute", "train.recompute", "true",
                     "--phase train: recompute batch-norm and activation outputs in the backward (the default for "
                     "f32)");
  add_shorthand_flag(app, config, "--no-recompute", "train.recompute", "false",
                     "--phase train: keep batch-norm and activation outputs for the backward instead of recomputing "
                     "them there (the default for bf16; faster, more memory)");
  app->add_option("--classes", args->classes,
                  "Classes of the classifier (default: the config's dataset's, 10 for CIFAR-10)")
      ->check(within<int64_t>(2, bench::kMaxClasses))
      ->type_name("K");
  app->add_option("--phase", args->phase,
                  "train: forward, loss, backward and the optimizer's update; infer: forward in eval mode "
                  "(default: train)")
      ->check(CLI::IsMember({"train", "infer"}))
      ->type_name("PHASE");
  app->add_flag_callback("--no-fusion", [args] { args->fusion = false; },
                         "Run every layer by itself: --phase infer without folding batch norms into convolutions "
                         "and fusing activations, --phase train without fusing a batch norm and the ReLU after it");
  app->add_option("--warmup", args->warmup, "Untimed steps first (default: 3)")
      ->check(within<int64_t>(0, bench::kMaxWarmup))
      ->type_name("N");
  app->add_option("--iters", args->iters, "Timed steps; the result is their median (default: 10)")
      ->check(within<int64_t>(1, bench::kMaxIters))
      ->type_name("N");
  app->add_flag("--json", args->json, "Print one JSON object instead of the table");
  CLI::Option* peak = app->add_flag(
      "--peak", args->peak,
      "Measure this CPU's arithmetic peak instead of a model: fp32 FMA and, where CPUID reports AVX512_BF16, "
      "bf16 dot-product GFLOPS of register-only loops on --threads threads (a few seconds)");
  // Every option that describes a model run means nothing to --peak: saying both is a mistake.
  for (CLI::Option* option : app->get_options()) {
    const std::string name = option->get_name();
    if (option != peak && name != "--threads" && name != "--json" && name != "--help") peak->excludes(option);
  }
  config->global_threads = parent.get_option_no_throw("--threads");
  app->footer(
      "\nEach timed step is measured on its own; img/s is the median over the timed steps. The table\n"
      "splits the mean step time by op kind (exclusive: a reorder inside a convolution counts as a\n"
      "reorder); 'other' is the time outside every profiled op. scripts/bench_pytorch.py measures\n"
      "PyTorch the same way and prints the same JSON keys.\n"
      "\nThe model's FLOPs are counted from its layers as direct convolution would do them (2 per\n"
      "multiply-add; training adds backward-data and backward-weights): gflop_per_image and\n"
      "achieved_gflops. Divided by the --peak figure of the same dtype, that is the fraction of this\n"
      "CPU's peak the step reaches; Winograd does fewer multiplies than direct convolution, so the\n"
      "fraction can exceed 100% where it runs.\n"
      "\n--peak times loops of independent 512-bit FMAs (256-bit on CPUs without AVX-512) and\n"
      "vdpbf16ps on registers only, for several accumulator counts, best of 5 runs each: the largest\n"
      "figure is the peak, and the counts show where more independent chains stop helping.\n"
      "\nThe model, its optimizer and the step are built as `sugar train` builds them from the config\n"
      "(CONFIG, or the defaults), its --set overrides and the shorthands --model, --activation, --batch,\n"
      "--threads, --dtype, --conv-algo, --seed and --(no-)recompute, each a --set of one key.\n"
      "\nExamples:\n"
      "  sugar bench --model resnet18 --batch 128 --threads 2\n"
      "  sugar bench configs/quickstart.yaml --phase infer\n"
      "  sugar bench --model vgg16 --dtype bf16 --json\n"
      "  sugar bench --model resnet18 --activation 'sugar(surrogate=bsilu)' --iters 5\n"
      "  sugar bench --peak --threads 2 --json\n");
  return {app, [args] { return run_bench(*args); }};
}

}  // namespace sugar::cli
