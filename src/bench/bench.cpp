#include "sugar/bench/bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/config/experiment_config.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/direct_flops.hpp"
#include "sugar/nn/batch_norm_relu.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/random.hpp"
#include "sugar/runtime.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::bench {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kImageSide = 32;
constexpr int64_t kImageChannels = 3;

// N(0, 1) images [N, 3, 32, 32] (roughly what per-channel normalisation gives) and uniform labels.
struct RandomBatch {
  Tensor images;
  std::vector<int32_t> labels;
};

RandomBatch random_batch(const BenchOptions& o) {
  const RandomStream pixels(o.seed, "bench/images");
  const RandomStream classes(o.seed, "bench/labels");
  std::vector<float> values(static_cast<size_t>(o.batch * kImageChannels * kImageSide * kImageSide));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(pixels.normal(i));
  RandomBatch batch;
  batch.images = Tensor::from_vector({o.batch, kImageChannels, kImageSide, kImageSide}, values);
  for (int64_t n = 0; n < o.batch; ++n)
    batch.labels.push_back(static_cast<int32_t>(classes.bits(static_cast<uint64_t>(n)) % o.classes));
  return batch;
}

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "all";
  }
}

// oneDNN runs bf16 convolutions only from AVX-512 (avx512_core) up; below that it has no bf16 kernels.
void check_bf16_support(dnnl::cpu_isa isa) {
  const bool has_avx512 = isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
                          isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  SUGAR_CHECK(has_avx512, "bench: --dtype bf16 needs a CPU with AVX-512 (oneDNN has no bf16 kernels for ",
              isa_name(isa), " here); use --dtype f32");
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// One training step as the trainer runs it, without data loading and metrics.
// Sets an on/off switch (inference fusion, recomputation) for the benchmark and restores it however
// the steps end.
class SwitchSetting {
 public:
  SwitchSetting(bool (*get)(), void (*set)(bool), bool enabled) : set_(set), previous_(get()) { set(enabled); }
  ~SwitchSetting() { set_(previous_); }
  SwitchSetting(const SwitchSetting&) = delete;
  SwitchSetting& operator=(const SwitchSetting&) = delete;

 private:
  void (*set_)(bool);
  bool previous_;
};

void train_step(nn::Module& model, optim::Optimizer& optimizer, const RandomBatch& batch, DType dtype) {
  optimizer.zero_grad();
  const Tensor images = dtype == DType::f32 ? batch.images : batch.images.to_dtype(dtype);
  const Tensor logits = model(images);
  const Tensor loss = ops::cross_entropy(logits, batch.labels);
  static_cast<void>(loss.item());  // the trainer reads the loss every step
  autograd::backward(loss);
  optimizer.step();
}

void infer_step(nn::Module& model, const RandomBatch& batch, DType dtype) {
  autograd::NoGradGuard no_grad;
  const Tensor images = dtype == DType::f32 ? batch.images : batch.images.to_dtype(dtype);
  static_cast<void>(model(images));
}

std::vector<OpShare> breakdown(const profiler::OpTimes& times, double total_step_ns, int64_t steps) {
  std::vector<OpShare> shares;
  double profiled_ns = 0;
  for (size_t k = 0; k < profiler::kOpKinds; ++k) {
    const auto ns = static_cast<double>(times.ns[k]);
    profiled_ns += ns;
    shares.push_back({profiler::op_kind_name(static_cast<profiler::OpKind>(k)), ns / 1e6 / steps,
                      ns / total_step_ns, static_cast<double>(times.calls[k]) / steps});
  }
  const double other_ns = total_step_ns - profiled_ns;
  shares.push_back({"other", other_ns / 1e6 / steps, other_ns / total_step_ns, 0});
  return shares;
}

// Turns the profiler on for the timed steps and restores its previous state however they end.
class ProfilerSession {
 public:
  ProfilerSession() : was_enabled_(profiler::enabled()) {}
  ~ProfilerSession() { profiler::set_enabled(was_enabled_); }
  ProfilerSession(const ProfilerSession&) = delete;
  ProfilerSession& operator=(const ProfilerSession&) = delete;
  void start() {
    profiler::reset();
    profiler::set_enabled(true);
  }

 private:
  bool was_enabled_;
};

std::map<std::string, std::map<std::string, int>> implementations_by_op() {
  std::map<std::string, std::map<std::string, int>> by_op;
  for (const PrimitiveImplementation& p : primitive_implementations()) {
    const std::string op = p.key.substr(0, p.key.find('|'));
    ++by_op[op][p.implementation];
  }
  return by_op;
}

}  // namespace

const char* phase_name(Phase phase) { return phase == Phase::train ? "train" : "infer"; }

void validate(const BenchOptions& o) {
  const auto check = [](bool ok, const std::string& message) {
    if (!ok) throw Error("bench: " + message, ErrorKind::usage);
  };
  const auto range = [](int64_t low, int64_t high) {
    return " in [" + std::to_string(low) + ", " + std::to_string(high) + "]";
  };
  check(o.classes >= 2 && o.classes <= kMaxClasses,
        "--classes must be" + range(2, kMaxClasses) + ", got " + std::to_string(o.classes));
  check(o.batch >= 1 && o.batch <= kMaxBatch, "--batch must be" + range(1, kMaxBatch) + ", got " + std::to_string(o.batch));
  // Batch normalisation in training needs more than one value per channel; ResNet's last stage is
  // 4x4, so a batch of 1 is fine there, but keep the rule simple and PyTorch-like.
  check(o.phase == Phase::infer || o.batch >= 2,
        "--batch must be at least 2 for --phase train (batch normalisation needs two samples)");
  check(o.threads >= 0 && o.threads <= kMaxThreads,
        "--threads must be" + range(0, kMaxThreads) + " (0: all cores), got " + std::to_string(o.threads));
  check(o.warmup >= 0 && o.warmup <= kMaxWarmup, "--warmup must be" + range(0, kMaxWarmup) + ", got " + std::to_string(o.warmup));
  check(o.iters >= 1 && o.iters <= kMaxIters, "--iters must be" + range(1, kMaxIters) + ", got " + std::to_string(o.iters));
}

double median(std::vector<double> values) {
  SUGAR_CHECK(!values.empty(), "median: no values");
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

BenchResult run_benchmark(const BenchOptions& options, const StepCallback& on_step) {
  validate(options);
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  if (options.dtype == DType::bf16) check_bf16_support(isa);
  if (options.threads > 0) set_num_threads(options.threads);
  keep_large_blocks_in_the_heap();

  models::ModelOptions model_options;
  model_options.name = options.model;
  model_options.activation = options.activation;
  model_options.num_classes = options.classes;
  model_options.in_channels = kImageChannels;
  model_options.image_size = kImageSide;
  std::shared_ptr<nn::Module> model = models::build_model(model_options);
  nn::initialize(*model, options.seed);
  nn::set_conv_algorithm(*model, options.conv_algo);
  model->train(options.phase == Phase::train);
  // The strong CIFAR recipe's optimizer; its values do not change the cost of a step.
  optim::SgdOptions sgd;
  sgd.lr = 0.01;
  sgd.momentum = 0.9;
  sgd.weight_decay = 5e-4;
  optim::SGD optimizer(model->parameters(), sgd);
  const RandomBatch batch = random_batch(options);

  BenchResult result;
  result.options = options;
  // Unset: what train.recompute: auto does for this dtype.
  result.options.recompute = options.recompute.value_or(config::recompute_enabled(config::Recompute::automatic, options.dtype));
  result.threads = num_threads();
  result.parameters = nn::count_parameters(*model);

  const SwitchSetting fusion_setting(nn::inference_fusion_enabled, nn::set_inference_fusion, options.fusion);
  const SwitchSetting training_fusion_setting(nn::training_fusion_enabled, nn::set_training_fusion, options.fusion);
  const SwitchSetting recompute_setting(autograd::recompute_enabled, autograd::set_recompute_enabled,
                                        *result.options.recompute);
  ProfilerSession profiling;
  const int64_t total = options.warmup + options.iters;
  double timed_ns = 0;
  for (int64_t i = 0; i < total; ++i) {
    const bool warmup = i < options.warmup;
    if (on_step) on_step(i, total, warmup);
    if (i == options.warmup) {
      profiling.start();  // the profiler sees exactly the timed steps
      reset_tensor_memory_peak();
    }
    const auto start = Clock::now();
    if (options.phase == Phase::train) {
      train_step(*model, optimizer, batch, options.dtype);
    } else {
      infer_step(*model, batch, options.dtype);
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    if (!warmup) {
      result.step_seconds.push_back(static_cast<double>(ns) / 1e9);
      timed_ns += static_cast<double>(ns);
    }
  }
  const profiler::OpTimes times = profiler::totals();

  std::vector<double> imgs_per_sec;
  for (double s : result.step_seconds) imgs_per_sec.push_back(static_cast<double>(options.batch) / s);
  result.imgs_per_sec = median(imgs_per_sec);
  result.median_step_ms = median(result.step_seconds) * 1e3;
  result.mean_step_ms = timed_ns / 1e6 / static_cast<double>(options.iters);
  result.breakdown = breakdown(times, timed_ns, options.iters);
  // The last step ran the phase's forward (a training one with autograd on), which is what the count reads.
  const nn::DirectFlops flops = nn::count_direct_flops(*model);
  result.gflop_per_image = (options.phase == Phase::train ? flops.training() : flops.forward) / 1e9;
  result.achieved_gflops = result.gflop_per_image * result.imgs_per_sec;
  result.peak_rss_mib = peak_rss_mib();
  result.peak_tensor_mib = static_cast<double>(tensor_memory().peak_bytes) / (1024.0 * 1024.0);
  result.onednn_version = onednn_version();
  result.cpu_isa = isa_name(isa);
  result.implementations = implementations_by_op();
  result.conv_algorithms = nn::conv_algorithm_choices(*model);
  return result;
}

}  // namespace sugar::bench
