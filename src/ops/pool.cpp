#include "sugar/ops/pool.hpp"

#include <memory>
#include <string>
#include <unordered_map>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {

namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

using ForwardPd = dnnl::pooling_forward::primitive_desc;
using BackwardPd = dnnl::pooling_backward::primitive_desc;

// One pooling window, resolved and validated: stride 0 already replaced by the kernel.
struct Window {
  memory::dims kernel, stride, padding;
  Shape output;  // [N, C, OH, OW]
};

Window resolve_window(const char* op, const Tensor& x, const Pool2dOptions& options) {
  SUGAR_CHECK(x.defined(), op, ": the input is undefined");
  SUGAR_CHECK(x.ndim() == 4, op, ": expected a 4-d input [N, C, H, W], got ", to_string(x.shape()));
  Window w;
  w.output = {x.dim(0), x.dim(1), 0, 0};
  for (int i = 0; i < 2; ++i) {
    const int64_t k = options.kernel[i], s = options.stride[i] == 0 ? k : options.stride[i], p = options.padding[i];
    const char* axis = i == 0 ? "height" : "width";
    SUGAR_CHECK(k > 0, op, ": kernel ", axis, " must be positive, got ", k);
    SUGAR_CHECK(s > 0, op, ": stride ", axis, " must be positive (or 0 for the kernel size), got ", options.stride[i]);
    // PyTorch's rule; it also keeps every window overlapping the real input.
    SUGAR_CHECK(p >= 0 && p <= k / 2, op, ": padding ", axis, " must be in [0, kernel/2], got padding ", p,
                " with kernel ", k);
    const int64_t extent = x.dim(2 + i) + 2 * p;
    SUGAR_CHECK(extent >= k, op, ": kernel ", to_string(Shape{options.kernel[0], options.kernel[1]}),
                " with padding ", to_string(Shape{options.padding[0], options.padding[1]}),
                " is larger than the input ", to_string(x.shape()), " (output would be empty)");
    w.kernel.push_back(k);
    w.stride.push_back(s);
    w.padding.push_back(p);
    w.output[2 + i] = (extent - k) / s + 1;  // floor: PyTorch's ceil_mode=false
  }
  return w;
}

CacheKey window_key(const char* what, const memory::desc& src, algorithm alg, const Window& w) {
  return CacheKey(what) << src << static_cast<int>(alg) << w.kernel << w.stride << w.padding;
}

// dst is format_tag::any: oneDNN gives pooling the layout family of its source (nChw16c stays
// nChw16c), so no reorder is needed between a blocked convolution and its pooling.
const CachedPrimitive<ForwardPd>& forward_primitive(const memory::desc& src, algorithm alg, const Window& w,
                                                    prop_kind prop) {
  return cached_primitive<ForwardPd>(window_key("pool_fwd", src, alg, w) << static_cast<int>(prop), [&] {
    const memory::desc dst(w.output, src.data_type(), memory::format_tag::any);
    // padding_r = padding_l: with floor rounding the last window never reaches past the right padding.
    return ForwardPd(dnnl::pooling_forward::desc(prop, alg, src, dst, w.stride, w.kernel, w.padding, w.padding),
                     user_scratchpad_attr(), cpu_engine());
  });
}

const CachedPrimitive<BackwardPd>& backward_primitive(const memory::desc& src, const memory::desc& dst,
                                                      algorithm alg, const Window& w) {
  // Looked up outside cached_primitive's make_pd: the cache's lock is not reentrant.
  const ForwardPd& hint = forward_primitive(src, alg, w, prop_kind::forward_training).pd;
  return cached_primitive<BackwardPd>(window_key("pool_bwd", src, alg, w) << dst, [&] {
    return BackwardPd(dnnl::pooling_backward::desc(alg, src, dst, w.stride, w.kernel, w.padding, w.padding),
                      user_scratchpad_attr(), cpu_engine(), hint);
  });
}

Tensor pool(const char* op, const Tensor& x, algorithm alg, const Window& w) {
  profiler::Scope scope(profiler::OpKind::pooling_forward);  // the backward: pooling_backward
  const bool record = autograd::needs_grad({x});
  // Only training max pooling has a workspace (the argmax of each window) for its backward.
  const prop_kind prop = record ? prop_kind::forward_training : prop_kind::forward_inference;
  const auto& fwd = forward_primitive(x.desc(), alg, w, prop);
  Tensor y = Tensor::from_desc(fwd.pd.dst_desc());

  const memory::desc workspace_desc = fwd.pd.workspace_desc();
  std::shared_ptr<Storage> workspace;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x.memory_handle()}, {DNNL_ARG_DST, y.memory_handle()}};
  if (workspace_desc.get_size() > 0) {
    workspace = std::make_shared<Storage>(workspace_desc.get_size());
    args[DNNL_ARG_WORKSPACE] = memory(workspace_desc, cpu_engine(), workspace->data());
  }
  execute_primitive(fwd.primitive, args);

  if (!record) return y;
  const memory::desc src = x.desc(), dst = y.desc();
  autograd::record(op, {x}, {y}, [x_grad = autograd::grad_target(x), src, dst, alg, w, workspace,
                                  workspace_desc](const std::vector<Tensor>& grads) {
    const auto& bwd = backward_primitive(src, dst, alg, w);
    const Tensor diff_dst = grads[0].to_desc(dst);
    // Zero-filled storage: oneDNN writes every diff_src element, and the padding lanes stay zero.
    const Tensor diff_src = Tensor::from_desc(src);
    std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                         {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}};
    if (workspace) args[DNNL_ARG_WORKSPACE] = memory(workspace_desc, cpu_engine(), workspace->data());
    execute_primitive(bwd.primitive, args);
    autograd::accumulate_grad(x_grad, diff_src);
  });
  return y;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  return pool("max_pool2d", x, algorithm::pooling_max, resolve_window("max_pool2d", x, options));
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
  // With floor rounding every window lies inside the padded input, so "include padding" divides by
  // kernel_h * kernel_w exactly as PyTorch's count_include_pad=True does.
  const algorithm alg =
      options.count_include_pad ? algorithm::pooling_avg_include_padding : algorithm::pooling_avg_exclude_padding;
  return pool("avg_pool2d", x, alg, resolve_window("avg_pool2d", x, options));
}

Tensor global_avg_pool2d(const Tensor& x) {
  SUGAR_CHECK(x.defined(), "global_avg_pool2d: the input is undefined");
  SUGAR_CHECK(x.ndim() == 4, "global_avg_pool2d: expected a 4-d input [N, C, H, W], got ", to_string(x.shape()));
  Pool2dOptions whole;
  whole.kernel = {x.dim(2), x.dim(3)};
  whole.stride = {1, 1};
  whole.padding = {0, 0};
  return pool("global_avg_pool2d", x, algorithm::pooling_avg_exclude_padding,
              resolve_window("global_avg_pool2d", x, whole));
}

}  // namespace sugar::ops
