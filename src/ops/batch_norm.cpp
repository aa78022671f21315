#include "sugar/ops/batch_norm.hpp"

#include <unordered_map>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

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
    return ForwardPd(dnnl::batch_normalization_forward::desc(prop, data, eps, flags), cpu_engine());
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
    return BackwardPd(dnnl::batch_normalization_backward::desc(prop, data, data, eps, flags), cpu_engine(), hint);
  });
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

  normalization_flags flags = normalization_flags::none;
  if (weight.defined()) flags |= normalization_flags::use_scale;
  if (bias.defined()) flags |= normalization_flags::use_shift;
  if (!batch_stats) flags |= normalization_flags::use_global_stats;
  const bool record = autograd::needs_grad({x, weight, bias});
  // forward_training is what outputs the batch statistics (needed for the running update and the
  // backward); with global statistics it is only needed as the backward's hint.
  const prop_kind prop = batch_stats || record ? prop_kind::forward_training : prop_kind::forward_inference;

  const Tensor scale = as_plain_f32(weight);
  const Tensor shift = as_plain_f32(bias);
  // Batch statistics are outputs; running statistics are inputs, copied so that the backward sees
  // the values this forward used even if the buffers are updated before it runs.
  const Tensor mean = batch_stats ? Tensor::zeros({channels}) : running_mean.clone();
  const Tensor variance = batch_stats ? Tensor::zeros({channels}) : running_var.clone();
  Tensor y = Tensor::from_desc(x.desc());

  const float eps = options.eps;
  const memory::desc data = x.desc();
  const auto& fwd = forward_primitive(data, prop, flags, eps);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x.memory_handle()},
                                       {DNNL_ARG_DST, y.memory_handle()},
                                       {DNNL_ARG_MEAN, mean.memory_handle()},
                                       {DNNL_ARG_VARIANCE, variance.memory_handle()}};
  if (scale.defined()) args[DNNL_ARG_SCALE] = scale.memory_handle();
  if (shift.defined()) args[DNNL_ARG_SHIFT] = shift.memory_handle();
  fwd.primitive.execute(cpu_stream(), args);
  cpu_stream().wait();

  // Whatever the grad mode: PyTorch updates the buffers on every training forward.
  if (options.training && running_mean.defined())
    update_running_stats(running_mean, running_var, mean, variance, options.momentum, values_per_channel);

  if (!record) return y;
  autograd::record("batch_norm2d", {x, weight, bias}, {y},
                   [x, weight, bias, scale, shift, mean, variance, flags, eps, data](const std::vector<Tensor>& grads) {
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
                     if (scale.defined()) {
                       args[DNNL_ARG_SCALE] = scale.memory_handle();
                       args[DNNL_ARG_DIFF_SCALE] = diff_scale.memory_handle();
                     }
                     if (shift.defined()) {
                       // Not used by the math, but oneDNN 2.6 refuses to run without it.
                       args[DNNL_ARG_SHIFT] = shift.memory_handle();
                       args[DNNL_ARG_DIFF_SHIFT] = diff_shift.memory_handle();
                     }
                     bwd.primitive.execute(cpu_stream(), args);
                     cpu_stream().wait();
                     autograd::accumulate_grad(x, diff_src);
                     autograd::accumulate_grad(weight, diff_scale);
                     autograd::accumulate_grad(bias, diff_shift);
                   });
  return y;
}

}  // namespace sugar::ops
