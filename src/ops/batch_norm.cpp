#include "sugar/ops/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sugar/ops/channel_layout.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/tensor_math.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::ops {

namespace {

using dnnl::normalization_flags;
using dnnl::prop_kind;

using ForwardPd = dnnl::batch_normalization_forward::primitive_desc;
using BackwardPd = dnnl::batch_normalization_backward::primitive_desc;

bool has(normalization_flags flags, normalization_flags flag) { return (flags & flag) != normalization_flags::none; }

const CachedPrimitive<ForwardPd>& forward_primitive(const memory::desc& data, prop_kind prop,
                                                    normalization_flags flags, float eps) {
  const CacheKey key = CacheKey("batch_norm_fwd") << data << static_cast<int>(prop) << static_cast<int>(flags)
                                                  << static_cast<double>(eps);
  return cached_primitive<ForwardPd>(key, [&] {
    return ForwardPd(dnnl::batch_normalization_forward::desc(prop, data, eps, flags), user_scratchpad_attr(),
                     cpu_engine());
  });
}

// prop_kind::backward also yields diff_scale / diff_shift; without affine parameters there are none,
// and oneDNN then wants backward_data.
const CachedPrimitive<BackwardPd>& backward_primitive(const memory::desc& data, normalization_flags flags,
                                                      float eps) {
  const bool affine = has(flags, normalization_flags::use_scale) || has(flags, normalization_flags::use_shift);
  const prop_kind prop = affine ? prop_kind::backward : prop_kind::backward_data;
  const CacheKey key = CacheKey("batch_norm_bwd") << data << static_cast<int>(prop) << static_cast<int>(flags)
                                                  << static_cast<double>(eps);
  // Looked up outside cached_primitive's make_pd: the cache's lock is not reentrant.
  const ForwardPd& hint = forward_primitive(data, prop_kind::forward_training, flags, eps).pd;
  return cached_primitive<BackwardPd>(key, [&] {
    return BackwardPd(dnnl::batch_normalization_backward::desc(prop, data, data, eps, flags), user_scratchpad_attr(),
                      cpu_engine(), hint);
  });
}

// Whether oneDNN runs the ReLU-fused primitives with the same kernels as the plain ones, forward (with
// batch and with given statistics) and backward. Only then are the fused values those of batch norm
// then ReLU bit for bit; oneDNN 2.6 picks another kernel for some layouts (f32 nhwc with 20 channels:
// sse41 fused, nspc plain), whose sums round differently.
bool fused_relu_is_exact(const memory::desc& data, normalization_flags flags, float eps) {
  const normalization_flags fused = flags | normalization_flags::fuse_norm_relu;
  auto same = [](const auto& a, const auto& b) { return std::string(a.pd.impl_info_str()) == b.pd.impl_info_str(); };
  for (const normalization_flags extra : {normalization_flags::none, normalization_flags::use_global_stats})
    if (!same(forward_primitive(data, prop_kind::forward_training, flags | extra, eps),
              forward_primitive(data, prop_kind::forward_training, fused | extra, eps)))
      return false;
  return same(backward_primitive(data, flags, eps), backward_primitive(data, fused, eps));
}

// A [C] vector parameter as plain f32 (what oneDNN takes for scale, shift, mean and variance).
Tensor as_plain_f32(const Tensor& t) { return t.defined() ? t.to_desc(plain_desc(t.shape(), DType::f32)) : t; }

void check_channel_vector(const Tensor& t, const char* what, const Tensor& x) {
  if (!t.defined()) return;
  SUGAR_CHECK(t.shape() == Shape{x.dim(1)}, "batch_norm2d: ", what, " has shape ", to_string(t.shape()),
              " but input ", to_string(x.shape()), " has ", x.dim(1), " channels (expected [", x.dim(1), "])");
}

void check_arguments(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, const BatchNormOptions& options) {
  SUGAR_CHECK(x.defined(), "batch_norm2d: the input is undefined");
  SUGAR_CHECK(x.ndim() == 4, "batch_norm2d: expected a 4-d input [N, C, H, W], got ", to_string(x.shape()));
  check_channel_vector(weight, "weight", x);
  check_channel_vector(bias, "bias", x);
  check_channel_vector(running_mean, "running_mean", x);
  check_channel_vector(running_var, "running_var", x);
  SUGAR_CHECK(running_mean.defined() == running_var.defined(),
              "batch_norm2d: running_mean and running_var must both be given or both be absent");
  for (const Tensor* buffer : {&running_mean, &running_var})
    SUGAR_CHECK(!buffer->defined() || (buffer->is_plain() && buffer->dtype() == DType::f32),
                "batch_norm2d: running statistics must be plain f32 buffers, got ", describe(buffer->desc()));
  SUGAR_CHECK(options.eps > 0, "batch_norm2d: eps must be positive, got ", options.eps);
  SUGAR_CHECK(options.momentum >= 0 && options.momentum <= 1, "batch_norm2d: momentum must be in [0, 1], got ",
              options.momentum);
  SUGAR_CHECK(!(options.relu && options.training && options.sync != nullptr && options.sync->size() > 1),
              "batch_norm2d: relu is not fused into a synchronised batch norm (apply it afterwards)");
}

// The fused ReLU's mask (fuse_norm_relu in training: which outputs were > 0, for the backward), or
// null when the primitive has none.
struct ReluMask {
  memory::desc desc;
  std::shared_ptr<Storage> storage;
  memory handle() const { return memory(desc, cpu_engine(), storage->data()); }
};

// Runs a forward primitive of x into y: mean and variance are outputs with batch statistics, inputs
// with use_global_stats. With fuse_norm_relu in training, returns the ReLU mask the primitive wrote.
std::optional<ReluMask> run_forward(const Tensor& x, const Tensor& y, const Tensor& scale, const Tensor& shift,
                                    const Tensor& mean, const Tensor& variance, prop_kind prop,
                                    normalization_flags flags, float eps) {
  const auto& fwd = forward_primitive(x.desc(), prop, flags, eps);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x.memory_handle()},
                                       {DNNL_ARG_DST, y.memory_handle()},
                                       {DNNL_ARG_MEAN, mean.memory_handle()},
                                       {DNNL_ARG_VARIANCE, variance.memory_handle()}};
  if (scale.defined()) args[DNNL_ARG_SCALE] = scale.memory_handle();
  if (shift.defined()) args[DNNL_ARG_SHIFT] = shift.memory_handle();
  std::optional<ReluMask> mask;
  const memory::desc workspace = fwd.pd.workspace_desc();
  if (workspace.get_size() > 0) {
    mask = ReluMask{workspace, std::make_shared<Storage>(workspace.get_size())};
    args[DNNL_ARG_WORKSPACE] = mask->handle();
  }
  execute_primitive(fwd.primitive, args);
  return mask;
}

// The batch's mean and biased variance per channel, as oneDNN's forward_training would output them but
// summed in double. oneDNN 2.6 sums each channel's values in float32, one after another on a thread:
// for a batch of 256 32x32 maps (262,144 values per channel) its mean and variance came out about 1e-4
// off (measured against float64), which shifts every normalised value by ~5e-5 of a standard deviation
// and made a VGG-11's gradients differ from PyTorch's by 1-3% after one step (tests/torch/agreement.py).
// In double, sum(x) and sum(x^2) keep every digit float holds (E[x^2] - mean^2 loses only the digits of
// mean^2 / variance, a few at most); per-thread sums are added in thread order (reduce_elements), so
// the result does not depend on scheduling.
void measure_batch_statistics(const Tensor& x, const Tensor& mean, const Tensor& variance) {
  const ChannelView view = channel_view(x, "batch_norm2d");
  const ChannelLayout& L = view.layout;
  const float* values = view.tensor.data<float>();
  const int64_t padded = L.padded_channels();
  const std::vector<double> sums =
      reduce_elements(L, static_cast<size_t>(2 * padded), [&](int64_t, int64_t c, int64_t at, double* acc) {
        const double v = values[at];
        acc[c] += v;
        acc[padded + c] += v * v;
      });
  const double count = static_cast<double>(L.batch * L.spatial);
  float* m = mean.data<float>();
  float* var = variance.data<float>();
  for (int64_t c = 0; c < L.channels; ++c) {
    const double channel_mean = sums[static_cast<size_t>(c)] / count;
    m[c] = static_cast<float>(channel_mean);
    var[c] = static_cast<float>(std::max(0.0, sums[static_cast<size_t>(padded + c)] / count - channel_mean * channel_mean));
  }
}

// PyTorch's running-statistics update; the variance is made unbiased with M / (M - 1).
void update_running_stats(const Tensor& running_mean, const Tensor& running_var, const Tensor& batch_mean,
                          const Tensor& batch_var, double momentum, int64_t values_per_channel) {
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const float* mean = batch_mean.data<float>();
  const float* var = batch_var.data<float>();
  const double unbias = static_cast<double>(values_per_channel) / static_cast<double>(values_per_channel - 1);
  for (int64_t c = 0; c < running_mean.numel(); ++c) {
    rm[c] = static_cast<float>((1 - momentum) * rm[c] + momentum * mean[c]);
    rv[c] = static_cast<float>((1 - momentum) * rv[c] + momentum * var[c] * unbias);
  }
  // Written in place: a folded evaluation convolution (nn/fused_inference.hpp) must see the change.
  running_mean.bump_version();
  running_var.bump_version();
}

// sync_bn: this rank's batch statistics (in `mean`, `variance`, over `values` values per channel) are
// replaced by those of the global batch; returns the global number of values per channel. Gathered
// rather than summed, and combined in rank order with the parallel-variance formula (no E[x^2] - E[x]^2
// cancellation), so every rank computes bit-identical statistics.
int64_t combine_statistics(dist::Communicator& comm, int64_t values, const Tensor& mean, const Tensor& variance) {
  const int64_t channels = mean.numel();
  const int64_t count = 1 + 2 * channels;
  std::vector<double> mine(static_cast<size_t>(count));
  mine[0] = static_cast<double>(values);
  for (int64_t c = 0; c < channels; ++c) {
    mine[static_cast<size_t>(1 + c)] = mean.data<float>()[c];
    mine[static_cast<size_t>(1 + channels + c)] = variance.data<float>()[c];
  }
  std::vector<double> all(static_cast<size_t>(count * comm.size()));
  comm.allgather(mine.data(), count, all.data());
  auto rank_values = [&](int r) { return all.data() + static_cast<size_t>(r) * static_cast<size_t>(count); };
  double total = 0;
  for (int r = 0; r < comm.size(); ++r) total += rank_values(r)[0];
  for (int64_t c = 0; c < channels; ++c) {
    double global_mean = 0;
    for (int r = 0; r < comm.size(); ++r) global_mean += rank_values(r)[0] * rank_values(r)[1 + c];
    global_mean /= total;
    double global_var = 0;
    for (int r = 0; r < comm.size(); ++r) {
      const double deviation = rank_values(r)[1 + c] - global_mean;
      global_var += rank_values(r)[0] * (rank_values(r)[1 + channels + c] + deviation * deviation);
    }
    mean.data<float>()[c] = static_cast<float>(global_mean);
    variance.data<float>()[c] = static_cast<float>(global_var / total);
  }
  return static_cast<int64_t>(total);
}

// sync_bn backward: oneDNN's backward with the statistics as constants gave
// diff_src = gamma * inv_std * dy and this rank's sum(dy * xhat), sum(dy). The gradient of the global
// normalisation is gamma * inv_std * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M) with the global
// sums; the correction is affine in xhat per channel, which is exactly what a batch-norm forward with
// the global statistics and scale' = -gamma*inv_std*sum(dy*xhat)/M, shift' = -gamma*inv_std*sum(dy)/M
// computes, in whatever layout x has.
Tensor global_backward_correction(dist::Communicator& comm, const Tensor& x, const Tensor& scale, const Tensor& mean,
                                  const Tensor& variance, const Tensor& diff_scale, const Tensor& diff_shift,
                                  int64_t global_values, float eps) {
  const int64_t channels = mean.numel();
  std::vector<float> sums(static_cast<size_t>(2 * channels));
  std::copy_n(diff_scale.data<float>(), channels, sums.begin());
  std::copy_n(diff_shift.data<float>(), channels, sums.begin() + channels);
  comm.allreduce_sum(sums.data(), 2 * channels);
  const Tensor correction_scale = Tensor::zeros({channels});
  const Tensor correction_shift = Tensor::zeros({channels});
  for (int64_t c = 0; c < channels; ++c) {
    const double inv_std = 1.0 / std::sqrt(static_cast<double>(variance.data<float>()[c]) + eps);
    const double factor = -static_cast<double>(scale.data<float>()[c]) * inv_std / static_cast<double>(global_values);
    correction_scale.data<float>()[c] = static_cast<float>(factor * sums[static_cast<size_t>(c)]);
    correction_shift.data<float>()[c] = static_cast<float>(factor * sums[static_cast<size_t>(channels + c)]);
  }
  const normalization_flags flags =
      normalization_flags::use_global_stats | normalization_flags::use_scale | normalization_flags::use_shift;
  Tensor correction = Tensor::from_desc(x.desc());
  run_forward(x, correction, correction_scale, correction_shift, mean, variance, prop_kind::forward_inference, flags,
              eps);
  return correction;
}

// The forward's output again, from its input and the statistics it used (the recipe of
// sugar/saved_tensor.hpp): the same training primitive with those statistics as inputs, which gives
// the forward's values bit for bit.
// With a fused ReLU the primitive writes its mask again too; the backward keeps the forward's.
Tensor normalize_again(const Tensor& x, const Tensor& scale, const Tensor& shift, const Tensor& mean,
                       const Tensor& variance, normalization_flags flags, float eps) {
  Tensor y = Tensor::from_desc(x.desc());
  run_forward(x, y, scale, shift, mean, variance, prop_kind::forward_training,
              flags | normalization_flags::use_global_stats, eps);
  return y;
}

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, const BatchNormOptions& options) {
  profiler::Scope scope(profiler::OpKind::batch_norm_forward);  // the backward: batch_norm_backward
  check_arguments(x, weight, bias, running_mean, running_var, options);
  const int64_t channels = x.dim(1);
  const int64_t values_per_channel = x.dim(0) * x.dim(2) * x.dim(3);
  // Eval without running statistics normalises with the batch's own, as PyTorch does.
  const bool batch_stats = options.training || !running_mean.defined();
  SUGAR_CHECK(!options.training || values_per_channel > 1,
              "batch_norm2d: training needs more than one value per channel, got input ", to_string(x.shape()));

  dist::Communicator* sync = options.training && options.sync != nullptr && options.sync->size() > 1 ? options.sync : nullptr;
  normalization_flags flags = normalization_flags::none;
  // sync_bn's backward needs sum(dy * xhat) and sum(dy), which oneDNN only outputs as the gradients of
  // scale and shift: without affine parameters, a scale of ones and a shift of zeros stand in.
  if (weight.defined() || sync) flags |= normalization_flags::use_scale;
  if (bias.defined() || sync) flags |= normalization_flags::use_shift;
  if (!batch_stats) flags |= normalization_flags::use_global_stats;
  if (options.relu) {
    if (!fused_relu_is_exact(x.desc(), flags, options.eps)) {
      BatchNormOptions apart = options;
      apart.relu = false;
      return relu(batch_norm2d(x, weight, bias, running_mean, running_var, apart));
    }
    flags |= normalization_flags::fuse_norm_relu;
  }
  const bool record = autograd::needs_grad({x, weight, bias});
  // forward_training is what outputs the batch statistics (needed for the running update and the
  // backward); with global statistics it is only needed as the backward's hint.
  const prop_kind prop = batch_stats || record ? prop_kind::forward_training : prop_kind::forward_inference;

  const Tensor scale = weight.defined() || !sync ? as_plain_f32(weight) : Tensor::full({channels}, 1.0f);
  const Tensor shift = bias.defined() || !sync ? as_plain_f32(bias) : Tensor::zeros({channels});
  // Batch statistics are outputs; running statistics are inputs, copied so that the backward sees
  // the values this forward used even if the buffers are updated before it runs.
  const Tensor mean = batch_stats ? Tensor::zeros({channels}) : running_mean.clone();
  const Tensor variance = batch_stats ? Tensor::zeros({channels}) : running_var.clone();
  Tensor y = Tensor::from_desc(x.desc());

  const float eps = options.eps;
  const memory::desc data = x.desc();
  int64_t statistics_values = values_per_channel;  // values per channel the statistics cover
  std::optional<ReluMask> relu_mask;                 // the fused ReLU's, for the backward
  if (batch_stats) {
    // f32: measured here rather than by the primitive (see measure_batch_statistics), then given to it
    // as if global. The backward below still differentiates through them: its flags are the batch's.
    // bf16: the primitive's float32 sums are kept. Their ~1e-4 error is below the rounding of the
    // bf16 values themselves (3 significant digits), and measuring in double would first copy the
    // whole activation to f32 (channel_view): a cost on every bf16 step for no precision.
    if (x.dtype() == DType::f32)
      measure_batch_statistics(x, mean, variance);
    else
      relu_mask = run_forward(x, y, scale, shift, mean, variance, prop_kind::forward_training, flags, eps);
    if (sync) {
      // This rank's statistics are replaced by the global batch's, which the backward treats as
      // constants and corrects for (global_backward_correction).
      statistics_values = combine_statistics(*sync, values_per_channel, mean, variance);
      flags |= normalization_flags::use_global_stats;
    }
    if (x.dtype() == DType::f32 || sync)
      relu_mask = run_forward(x, y, scale, shift, mean, variance, prop_kind::forward_training,
                              flags | normalization_flags::use_global_stats, eps);
  } else {
    relu_mask = run_forward(x, y, scale, shift, mean, variance, prop, flags, eps);
  }
  SUGAR_CHECK(!options.relu || !record || relu_mask, "batch_norm2d: oneDNN gave the fused ReLU no mask for ",
              describe(data));

  // Whatever the grad mode: PyTorch updates the buffers on every training forward.
  if (options.training && running_mean.defined())
    update_running_stats(running_mean, running_var, mean, variance, options.momentum, statistics_values);

  if (!record) return y;
  // x is saved for the backward below anyway, so y costs nothing to keep as a recipe.
  autograd::set_recompute(y, [x, scale, shift, mean, variance, flags, eps] {
    return normalize_again(x, scale, shift, mean, variance, flags, eps);
  });
  autograd::record("batch_norm2d", {x, weight, bias}, {y},
                   [x, weight, bias, scale, shift, mean, variance, flags, eps, data, sync, statistics_values,
                    relu_mask](const std::vector<Tensor>& grads) {
                     const auto& bwd = backward_primitive(data, flags, eps);
                     const Tensor diff_dst = grads[0].to_desc(data);
                     const Tensor diff_src = Tensor::from_desc(data);
                     const int64_t channels = data.dims()[1];
                     const Tensor diff_scale = Tensor::zeros({channels});
                     const Tensor diff_shift = Tensor::zeros({channels});
                     std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x.memory_handle()},
                                                          {DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                                          {DNNL_ARG_MEAN, mean.memory_handle()},
                                                          {DNNL_ARG_VARIANCE, variance.memory_handle()},
                                                          {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}};
                     // A fused ReLU: diff_dst is the gradient of max(bn(x), 0), masked inside by this.
                     if (relu_mask) args[DNNL_ARG_WORKSPACE] = relu_mask->handle();
                     if (scale.defined()) {
                       args[DNNL_ARG_SCALE] = scale.memory_handle();
                       args[DNNL_ARG_DIFF_SCALE] = diff_scale.memory_handle();
                     }
                     if (shift.defined()) {
                       // Not used by the math, but oneDNN 2.6 refuses to run without it.
                       args[DNNL_ARG_SHIFT] = shift.memory_handle();
                       args[DNNL_ARG_DIFF_SHIFT] = diff_shift.memory_handle();
                     }
                     execute_primitive(bwd.primitive, args);
                     if (sync) {
                       const Tensor correction = global_backward_correction(
                           *sync, x, scale, mean, variance, diff_scale, diff_shift, statistics_values, eps);
                       autograd::accumulate_grad(x, add_same_layout(diff_src, correction));
                     } else {
                       autograd::accumulate_grad(x, diff_src);
                     }
                     autograd::accumulate_grad(weight, diff_scale);
                     autograd::accumulate_grad(bias, diff_shift);
                   });
  return y;
}

}  // namespace sugar::ops
