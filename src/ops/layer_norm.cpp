// Layer normalisation on oneDNN's layer_normalization primitives: forward (training or inference) and
// backward side by side. Both views of ops/layer_norm.hpp come down to one case: a row-major [M, C]
// matrix whose rows are normalised (tokens flattened to M = N*T rows; a channels-last map to
// M = N*H*W rows of C channels), run on a 2-d view of the same storage.
#include "sugar/ops/layer_norm.hpp"

#include <string>
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
using format_tag = memory::format_tag;

using ForwardPd = dnnl::layer_normalization_forward::primitive_desc;
using BackwardPd = dnnl::layer_normalization_backward::primitive_desc;

// The rows the primitives see: a plain [rows, channels] matrix of x's data type.
struct RowGeometry {
  int64_t rows = 0, channels = 0;
  DType dtype = DType::f32;
  normalization_flags flags = normalization_flags::none;  // use_scale, use_shift
  float eps = 0;

  memory::desc data() const { return plain_desc({rows, channels}, dtype); }
  bool affine() const { return flags != normalization_flags::none; }
};

CacheKey geometry_key(const char* op, const RowGeometry& g, prop_kind prop) {
  CacheKey key(op);
  key << g.rows << g.channels << static_cast<int64_t>(g.dtype) << static_cast<int>(prop) << static_cast<int>(g.flags)
      << static_cast<double>(g.eps);
  return key;
}

const CachedPrimitive<ForwardPd>& forward_primitive(const RowGeometry& g, prop_kind prop) {
  return cached_primitive<ForwardPd>(geometry_key("layer_norm_fwd", g, prop), [&] {
    return ForwardPd(dnnl::layer_normalization_forward::desc(prop, g.data(), g.eps, g.flags), user_scratchpad_attr(),
                     cpu_engine());
  });
}

// prop_kind::backward also yields diff_scale / diff_shift; without affine parameters oneDNN wants
// backward_data.
const CachedPrimitive<BackwardPd>& backward_primitive(const RowGeometry& g) {
  const prop_kind prop = g.affine() ? prop_kind::backward : prop_kind::backward_data;
  // Looked up outside cached_primitive's make_pd: the cache's lock is not reentrant.
  const ForwardPd& hint = forward_primitive(g, prop_kind::forward_training).pd;
  return cached_primitive<BackwardPd>(geometry_key("layer_norm_bwd", g, prop), [&] {
    return BackwardPd(dnnl::layer_normalization_backward::desc(prop, g.data(), g.data(), g.eps, g.flags),
                      user_scratchpad_attr(), cpu_engine(), hint);
  });
}

// `t` (whose layout puts each row's C values next to each other) as the [rows, C] matrix.
memory rows_of(const Tensor& t, const RowGeometry& g) {
  return memory(g.data(), cpu_engine(), t.raw_data());
}

// A [C] parameter as plain f32 (what oneDNN takes for scale and shift).
Tensor as_plain_f32(const Tensor& t) { return t.defined() ? t.to_desc(plain_desc(t.shape(), DType::f32)) : t; }

void check_parameter(const Tensor& p, const char* what, int64_t channels, const char* op, const Tensor& x) {
  if (!p.defined()) return;
  SUGAR_CHECK(p.shape() == Shape{channels}, op, ": ", what, " has shape ", to_string(p.shape()), " but input ",
              to_string(x.shape()), " has ", channels, " channels to normalise (expected [", channels, "])");
}

// Normalises the rows of `work` (x in a layout whose rows are contiguous: plain, or channels-last) and
// records the backward. y and dL/dx have work's layout; accumulate_grad reorders dL/dx to x's.
Tensor normalize_rows(const Tensor& x, const Tensor& work, int64_t channels, const Tensor& weight, const Tensor& bias,
                      float eps, const char* op) {
  profiler::Scope scope(profiler::OpKind::layer_norm_forward);
  check_parameter(weight, "weight", channels, op, x);
  check_parameter(bias, "bias", channels, op, x);
  SUGAR_CHECK(eps > 0, op, ": eps must be positive, got ", eps);
  RowGeometry g;
  g.channels = channels;
  g.rows = x.numel() / channels;
  g.dtype = x.dtype();
  g.eps = eps;
  if (weight.defined()) g.flags = g.flags | normalization_flags::use_scale;
  if (bias.defined()) g.flags = g.flags | normalization_flags::use_shift;

  const bool training = autograd::needs_grad({x, weight, bias});
  const auto& fwd = forward_primitive(g, training ? prop_kind::forward_training : prop_kind::forward_inference);
  const Tensor scale = as_plain_f32(weight);
  const Tensor shift = as_plain_f32(bias);
  Tensor y = Tensor::from_desc(work.desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, rows_of(work, g)}, {DNNL_ARG_DST, rows_of(y, g)}};
  if (scale.defined()) args[DNNL_ARG_SCALE] = scale.memory_handle();
  if (shift.defined()) args[DNNL_ARG_SHIFT] = shift.memory_handle();
  Tensor mean, variance;
  if (training) {
    mean = Tensor::from_desc(fwd.pd.mean_desc());
    variance = Tensor::from_desc(fwd.pd.variance_desc());
    args[DNNL_ARG_MEAN] = mean.memory_handle();
    args[DNNL_ARG_VARIANCE] = variance.memory_handle();
  }
  execute_primitive(fwd.primitive, args);
  if (!training) return y;

  autograd::record(
      op, {x, weight, bias}, {y},
      [g, work, scale, shift, mean, variance, x_grad = autograd::grad_target(x), weight_grad = autograd::grad_target(weight),
       bias_grad = autograd::grad_target(bias)](const std::vector<Tensor>& grads) {
        const auto& bwd = backward_primitive(g);
        const Tensor diff_dst = grads[0].to_desc(work.desc());
        Tensor diff_src = Tensor::from_desc(work.desc());
        std::unordered_map<int, memory> bwd_args{{DNNL_ARG_SRC, rows_of(work, g)},
                                                 {DNNL_ARG_DIFF_DST, rows_of(diff_dst, g)},
                                                 {DNNL_ARG_MEAN, mean.memory_handle()},
                                                 {DNNL_ARG_VARIANCE, variance.memory_handle()},
                                                 {DNNL_ARG_DIFF_SRC, rows_of(diff_src, g)}};
        Tensor diff_scale, diff_shift;
        if (scale.defined()) {
          bwd_args[DNNL_ARG_SCALE] = scale.memory_handle();
          diff_scale = Tensor::from_desc(plain_desc({g.channels}, DType::f32));
          bwd_args[DNNL_ARG_DIFF_SCALE] = diff_scale.memory_handle();
        }
        if (shift.defined()) {
          // oneDNN's backward takes the shift as an input too, though the gradients do not depend on it.
          bwd_args[DNNL_ARG_SHIFT] = shift.memory_handle();
          diff_shift = Tensor::from_desc(plain_desc({g.channels}, DType::f32));
          bwd_args[DNNL_ARG_DIFF_SHIFT] = diff_shift.memory_handle();
        }
        execute_primitive(bwd.primitive, bwd_args);
        autograd::accumulate_grad(x_grad, diff_src);
        if (diff_scale.defined()) autograd::accumulate_grad(weight_grad, diff_scale);
        if (diff_shift.defined()) autograd::accumulate_grad(bias_grad, diff_shift);
      });
  return y;
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  SUGAR_CHECK(x.defined(), "layer_norm: the input is undefined");
  SUGAR_CHECK(x.ndim() >= 2 && x.dim(-1) >= 1, "layer_norm: expected an input [..., C] with at least 2 dimensions, got ",
              to_string(x.shape()));
  return normalize_rows(x, x.to_plain(), x.dim(-1), weight, bias, eps, "layer_norm");
}

Tensor layer_norm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  SUGAR_CHECK(x.defined(), "layer_norm2d: the input is undefined");
  SUGAR_CHECK(x.ndim() == 4, "layer_norm2d: expected a 4-d input [N, C, H, W], got ", to_string(x.shape()));
  const memory::desc channels_last(x.shape(), to_dnnl(x.dtype()), format_tag::nhwc);
  return normalize_rows(x, x.to_desc(channels_last), x.dim(1), weight, bias, eps, "layer_norm2d");
}

}  // namespace sugar::ops
