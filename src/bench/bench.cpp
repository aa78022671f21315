#include "sugar/bench/bench.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/config/experiment_config.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/direct_flops.hpp"
#include "sugar/nn/batch_norm_relu.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/optim/clip.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/random.hpp"
#include "sugar/runtime.hpp"
#include "sugar/saved_tensor.hpp"
#include "sugar/train/builders.hpp"

namespace sugar::bench {

namespace {

using Clock = std::chrono::steady_clock;

// N(0, 1) images [N, C, H, W] (roughly what per-channel normalisation gives) and uniform labels.
struct RandomBatch {
  Tensor images;
  std::vector<int32_t> labels;
};

RandomBatch random_batch(uint64_t seed, int64_t batch, const data::ImageShape& image, int64_t classes) {
  const RandomStream pixels(seed, "bench/images");
  const RandomStream labels(seed, "bench/labels");
  std::vector<float> values(static_cast<size_t>(batch * image.numel()));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(pixels.normal(i));
  RandomBatch out;
  out.images = Tensor::from_vector({batch, image.channels, image.height, image.width}, values);
  for (int64_t n = 0; n < batch; ++n)
    out.labels.push_back(static_cast<int32_t>(labels.bits(static_cast<uint64_t>(n)) % classes));
  return out;
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

void train_step(nn::Module& model, optim::Optimizer& optimizer, const RandomBatch& batch, DType dtype,
                double clip_grad_norm) {
  optimizer.zero_grad();
  const Tensor images = dtype == DType::f32 ? batch.images : batch.images.to_dtype(dtype);
  const Tensor logits = model(images);
  const Tensor loss = ops::cross_entropy(logits, batch.labels);
  static_cast<void>(loss.item());  // the trainer reads the loss every step
  autograd::backward(loss);
  if (clip_grad_norm > 0) optim::clip_grad_norm_(model.parameters(), clip_grad_norm);  // as the trainer
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
  const config::TrainConfig& t = o.config.train;
  if (o.classes)
    check(*o.classes >= 2 && *o.classes <= kMaxClasses,
          "--classes must be" + range(2, kMaxClasses) + ", got " + std::to_string(*o.classes));
  check(t.batch_size >= 1 && t.batch_size <= kMaxBatch,
        "train.batch_size (--batch) must be" + range(1, kMaxBatch) + ", got " + std::to_string(t.batch_size));
  // Batch normalisation in training needs more than one value per channel; ResNet's last stage is
  // 4x4, so a batch of 1 is fine there, but keep the rule simple and PyTorch-like.
  check(o.phase == Phase::infer || t.batch_size >= 2,
        "train.batch_size (--batch) must be at least 2 for --phase train (batch normalisation needs two samples)");
  check(t.threads >= 0 && t.threads <= kMaxThreads,
        "train.threads (--threads) must be" + range(0, kMaxThreads) + " (0: all cores), got " + std::to_string(t.threads));
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
  const config::ExperimentConfig& config = options.config;
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const DType dtype = config.train.dtype;
  if (dtype == DType::bf16) check_bf16_support(isa);
  const train::ModelInput input = train::documented_model_input(config, options.classes);
  const int64_t batch_size = config.train.batch_size;
  if (batch_size * input.shape.numel() > kMaxInputValues)
    throw Error("bench: a batch of " + std::to_string(batch_size) + " images of " + std::to_string(input.shape.channels) +
                    "x" + std::to_string(input.shape.height) + "x" + std::to_string(input.shape.width) + " is " +
                    std::to_string(batch_size * input.shape.numel()) + " values; expected at most " +
                    std::to_string(kMaxInputValues) + " (a smaller train.batch_size or data.image_size)",
                ErrorKind::usage);
  if (config.train.threads > 0) set_num_threads(config.train.threads);
  keep_large_blocks_in_the_heap();

  // The same builders as `sugar train`: the model initialised from the config's seed, its
  // convolutions under train.conv_algo, and the config's optimizer.
  std::shared_ptr<nn::Module> model = train::build_model(config, input);
  model->train(options.phase == Phase::train);
  const std::unique_ptr<optim::Optimizer> optimizer = train::build_optimizer(config.optim, *model);
  const RandomBatch batch = random_batch(config.seed, batch_size, input.shape, input.num_classes);

  BenchResult result;
  result.options = options;
  result.classes = input.num_classes;
  result.image = input.shape;
  result.recompute = config::recompute_enabled(config.train);
  result.threads = num_threads();
  result.parameters = nn::count_parameters(*model);

  const SwitchSetting fusion_setting(nn::inference_fusion_enabled, nn::set_inference_fusion, options.fusion);
  const SwitchSetting training_fusion_setting(nn::training_fusion_enabled, nn::set_training_fusion, options.fusion);
  const SwitchSetting recompute_setting(autograd::recompute_enabled, autograd::set_recompute_enabled,
                                        result.recompute);
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
      train_step(*model, *optimizer, batch, dtype, config.optim.clip_grad_norm);
    } else {
      infer_step(*model, batch, dtype);
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    if (!warmup) {
      result.step_seconds.push_back(static_cast<double>(ns) / 1e9);
      timed_ns += static_cast<double>(ns);
    }
  }
  const profiler::OpTimes times = profiler::totals();

  std::vector<double> imgs_per_sec;
  for (double s : result.step_seconds) imgs_per_sec.push_back(static_cast<double>(batch_size) / s);
  result.imgs_per_sec = median(imgs_per_sec);
  result.median_step_ms = median(result.step_seconds) * 1e3;
  result.mean_step_ms = timed_ns / 1e6 / static_cast<double>(options.iters);
  result.breakdown = breakdown(times, timed_ns, options.iters);
  // The last step ran the phase's forward (a training one with autograd on), which is what the count reads.
  const nn::DirectFlops flops = nn::count_direct_flops(*model, batch_size);
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
