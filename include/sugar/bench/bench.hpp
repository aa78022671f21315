#pragma once
// Training and inference throughput of a model on random inputs of its dataset's shape, with where the time
// goes: what `sugar bench` runs and prints. scripts/bench_pytorch.py measures PyTorch the same way
// (same models, inputs, step, warm-up and median) and prints the same JSON keys.
//
// A training step is what the trainer does per batch minus the data loading: zero_grad, the input
// converted to the compute type, forward, cross-entropy, loss.item(), backward, SGD momentum update.
// An inference step is the forward of the model in eval mode without gradients. Each step is timed
// on its own; the result is the median of the per-step images/s over the timed steps, after
// `warmup` untimed steps (primitive creation, first-touch allocations).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/data/dataset.hpp"
#include "sugar/ops/conv_algorithm.hpp"
#include "sugar/tensor.hpp"

namespace sugar::bench {

enum class Phase { train, infer };
const char* phase_name(Phase phase);

struct BenchOptions {
  // The run to measure, built exactly as `sugar train` builds it from this config (train/builders.hpp):
  // model.* and seed (the weights, and the random images and labels), optim.* (the optimizer the
  // training step updates with), train.batch_size (images per step, in both phases), train.dtype,
  // train.threads (> 0: set the thread count first; 0: keep the process's), train.conv_algo (auto
  // measures the layers in the first warm-up step, or the first step), train.recompute and
  // optim.clip_grad_norm (clipped as the trainer clips). data.*
  // gives the images' shape and the class count its dataset documents; no file is read. The other keys
  // (schedule, epochs, augmentation, ...) do not change the cost of a step and are ignored.
  config::ExperimentConfig config;
  std::optional<int64_t> classes;  // the classifier's classes, replacing the dataset's count
  Phase phase = Phase::train;
  int64_t warmup = 3;
  int64_t iters = 10;
  // --phase infer: fold batch norms into convolutions and fuse activations (nn/fused_inference.hpp);
  // --phase train: fuse a batch norm and the ReLU after it (nn/batch_norm_relu.hpp).
  bool fusion = true;
};

// The largest values the options take: far above any real benchmark, and small enough that the
// inputs (batch x image floats: 50 MB at the largest batch of CIFAR images) and the time stay bounded.
inline constexpr int64_t kMaxClasses = 100'000;  // ImageNet-21k has 21,841
inline constexpr int64_t kMaxBatch = 4096;
inline constexpr int64_t kMaxInputValues = int64_t{1} << 28;  // batch x image: 1 GiB of floats
inline constexpr int kMaxThreads = 4096;         // as set_num_threads
inline constexpr int64_t kMaxWarmup = 1000;
inline constexpr int64_t kMaxIters = 10'000;

// Throws sugar::Error (usage) for a value out of range, naming the option and the range.
void validate(const BenchOptions& options);

// One kind of op (profiler::OpKind names, plus "other": the step time outside every profiled op).
struct OpShare {
  std::string kind;
  double ms_per_step = 0;
  double fraction = 0;  // of the timed steps' total time
  double calls_per_step = 0;
};

struct BenchResult {
  BenchOptions options;
  int threads = 0;  // the thread count the steps ran with
  int64_t classes = 0;     // the classifier's classes
  data::ImageShape image;  // one input image's shape
  bool recompute = true;   // whether batch-norm + activation outputs were recomputed (train.recompute)
  int64_t parameters = 0;
  std::vector<double> step_seconds;  // the timed steps, in order
  double imgs_per_sec = 0;           // median over the timed steps of batch / step time
  double median_step_ms = 0;
  double mean_step_ms = 0;
  std::vector<OpShare> breakdown;  // every profiled kind in profiler order, then "other"
  // The FLOPs of one image's step as direct convolution does them (nn/direct_flops.hpp: forward, and for
  // training backward-data and backward-weights too) and that rate at imgs_per_sec. Divided by
  // `sugar bench --peak`, the fraction of the CPU's peak; past 100% where Winograd runs.
  double gflop_per_image = 0;
  double achieved_gflops = 0;
  double peak_rss_mib = 0;         // the process's peak resident set size so far
  double peak_tensor_mib = 0;      // the most bytes tensors held at once during the timed steps
  std::string onednn_version;
  std::string cpu_isa;  // the instruction set oneDNN dispatches to ("avx512_core_bf16")
  // For each op of the primitive cache ("conv2d_forward_training"), how many primitives each oneDNN
  // implementation serves ("brg:avx512_core" -> 12). Covers the primitives this process created.
  std::map<std::string, std::map<std::string, int>> implementations;
  // The algorithm each convolution layer ran, by module path.
  std::vector<std::pair<std::string, ops::ConvLayerChoice>> conv_algorithms;
};

// Called before each step: index counts from 0 over warm-up and timed steps.
using StepCallback = std::function<void(int64_t index, int64_t total, bool warmup)>;

// Builds the model and the random batch, runs the steps with the op profiler on, and measures.
BenchResult run_benchmark(const BenchOptions& options, const StepCallback& on_step = {});

// The median of `values` (mean of the middle two for an even count); values must not be empty.
double median(std::vector<double> values);

// One JSON object on one line: model, activation, dtype, phase, batch, classes, threads, warmup, iters,
// parameters, imgs_per_sec, gflop_per_image, achieved_gflops, step_ms {median, mean, min, max}, steps_ms, breakdown {kind: {ms,
// fraction, calls}}, peak_rss_mib, peak_tensor_mib, framework, onednn {version, isa, implementations}, conv_algo {policy,
// layers {path: {layer, forward, backward_data, backward_weights, source, note}}}.
std::string to_json_text(const BenchResult& result);

// The human-readable report: a header line, the breakdown table, memory and oneDNN's choices.
std::string to_table_text(const BenchResult& result);

}  // namespace sugar::bench
