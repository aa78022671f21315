#include "command_bench.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <limits>
#include <string>

#include "sugar/bench/bench.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/bench/peak.hpp"
#include "option_checks.hpp"
#include "sugar/models/registry.hpp"

namespace sugar::cli {

namespace {

struct BenchArgs {
  bench::BenchOptions options;
  std::string dtype = "f32";
  std::string phase = "train";
  std::string conv_algo = "auto";
  bool json = false;
  bool peak = false;
};

int run_peak(const BenchArgs& args) {
  bench::PeakOptions options;
  options.threads = args.options.threads;
  spdlog::info("bench --peak: timing register-only multiply-add loops (a few seconds)");
  const bench::PeakResult result = bench::measure_peak(options);
  std::cout << (args.json ? bench::peak_to_json_text(result) + "\n" : bench::peak_to_table_text(result)) << std::flush;
  return 0;
}

int run_bench(const BenchArgs& args) {
  if (args.peak) return run_peak(args);
  bench::BenchOptions options = args.options;
  options.dtype = args.dtype == "bf16" ? DType::bf16 : DType::f32;
  options.phase = args.phase == "infer" ? bench::Phase::infer : bench::Phase::train;
  options.conv_algo = ops::parse_conv_algo_policy(args.conv_algo);
  // Logged once the model is built, so that a bad model or activation is the only line printed.
  const bench::BenchResult result =
      bench::run_benchmark(options, [&](int64_t index, int64_t total, bool warmup) {
        if (index == 0)
          spdlog::info("bench: {} ({}, {}, {}, batch {}), {} warm-up + {} timed steps", options.model,
                       options.activation, args.dtype, args.phase, options.batch, options.warmup, options.iters);
        spdlog::info("{} step {}/{}", warmup ? "warm-up" : "timed", index + 1, total);
      });
  if (const int64_t provisional = nn::count_provisional(result.conv_algorithms); provisional > 0)
    spdlog::warn("{} convolution layer(s) ran provisional algorithm choices (their timings could not decide: too "
                 "close to call, or other processes used the machine); 'sugar tune --model {} --batch {}' on a "
                 "quiet machine measures them again",
                 provisional, options.model, options.batch);
  std::cout << (args.json ? bench::to_json_text(result) + "\n" : bench::to_table_text(result)) << std::flush;
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto args = std::make_shared<BenchArgs>();
  bench::BenchOptions& o = args->options;
  CLI::App* app = parent.add_subcommand(
      "bench", "Measure training or inference speed (images/s) on random CIFAR-sized inputs, with time per op");
  std::string model_names;
  for (const std::string& name : models::model_names()) model_names += (model_names.empty() ? "" : ", ") + name;
  app->add_option("--model", o.model, "The model (" + model_names + "; default: resnet18)")->type_name("NAME");
  app->add_option("--classes", o.classes, "Classes of the classifier (default: 10)")->check(within<int64_t>(2, bench::kMaxClasses))->type_name("K");
  app->add_option("--batch", o.batch, "Images per step (default: 128)")
      ->check(within<int64_t>(1, bench::kMaxBatch))
      ->type_name("N");
  app->add_option("--threads", o.threads,
                  "Threads (default: those of 'sugar --threads', else OMP_NUM_THREADS, else all cores)")
      ->check(within<int>(0, bench::kMaxThreads))
      ->type_name("T");
  app->add_option("--dtype", args->dtype, "Compute data type (default: f32; bf16 needs AVX-512)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->type_name("DTYPE");
  app->add_option("--phase", args->phase,
                  "train: forward, loss, backward and SGD momentum update; infer: forward in eval mode "
                  "(default: train)")
      ->check(CLI::IsMember({"train", "infer"}))
      ->type_name("PHASE");
  app->add_option("--conv-algo", args->conv_algo,
                  "Convolution algorithm: auto (per layer, measured in the first step), direct or winograd "
                  "(where oneDNN has it; default: auto)")
      ->check(CLI::IsMember({"auto", "direct", "winograd"}))
      ->type_name("ALGO");
  app->add_flag("--no-fusion", [args](int64_t) { args->options.fusion = false; },
                "Run every layer by itself: --phase infer without folding batch norms into convolutions and "
                "fusing activations, --phase train without fusing a batch norm and the ReLU after it");
  app->add_flag("--recompute", [args](int64_t) { args->options.recompute = true; },
                "--phase train: recompute batch-norm and activation outputs in the backward (the default for f32; "
                "train.recompute: true)");
  app->add_flag("--no-recompute", [args](int64_t) { args->options.recompute = false; },
                "--phase train: keep batch-norm and activation outputs for the backward instead of "
                "recomputing them there (the default for bf16; faster, more memory; train.recompute: false)");
  app->add_option("--activation", o.activation, "Activation at every site (default: relu)")->type_name("SPEC");
  app->add_option("--warmup", o.warmup, "Untimed steps first (default: 3)")
      ->check(within<int64_t>(0, bench::kMaxWarmup))
      ->type_name("N");
  app->add_option("--iters", o.iters, "Timed steps; the result is their median (default: 10)")
      ->check(within<int64_t>(1, bench::kMaxIters))
      ->type_name("N");
  app->add_option("--seed", o.seed, "Seed of the weights, images and labels (default: 0)")
      ->check(within<uint64_t>(0, std::numeric_limits<uint64_t>::max()))
      ->type_name("S");
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
      "\nExamples:\n"
      "  sugar bench --model resnet18 --batch 128 --threads 2\n"
      "  sugar bench --model vgg16 --dtype bf16 --json\n"
      "  sugar bench --model resnet18 --activation 'sugar(surrogate=bsilu)' --iters 5\n"
      "  sugar bench --peak --threads 2 --json\n");
  return {app, [args] { return run_bench(*args); }};
}

}  // namespace sugar::cli
