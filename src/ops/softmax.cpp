// Softmax along the last axis: forward and backward side by side (see softmax.hpp).
#include "sugar/ops/softmax.hpp"

#include <unordered_map>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {
namespace {

using ForwardPd = dnnl::softmax_forward::primitive_desc;
using BackwardPd = dnnl::softmax_backward::primitive_desc;

const CachedPrimitive<ForwardPd>& forward_primitive(const memory::desc& desc) {
  CacheKey key("softmax_forward");
  key << desc;
  return cached_primitive<ForwardPd>(key, [&] {
    const int axis = desc.data.ndims - 1;
    return ForwardPd(dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, desc, axis),
                     user_scratchpad_attr(), cpu_engine());
  });
}

const CachedPrimitive<BackwardPd>& backward_primitive(const memory::desc& desc) {
  CacheKey key("softmax_backward");
  key << desc;
  return cached_primitive<BackwardPd>(key, [&] {
    const int axis = desc.data.ndims - 1;
    return BackwardPd(dnnl::softmax_backward::desc(desc, desc, axis), user_scratchpad_attr(), cpu_engine(),
                      forward_primitive(desc).pd);
  });
}

}  // namespace

Tensor softmax_values(const Tensor& x) {
  SUGAR_CHECK(x.defined() && x.ndim() >= 1, "softmax: expected a tensor with at least one axis");
  const Tensor src = x.to_plain();
  Tensor y = Tensor::from_desc(src.desc());
  execute_primitive(forward_primitive(src.desc()).primitive,
                    {{DNNL_ARG_SRC, src.memory_handle()}, {DNNL_ARG_DST, y.memory_handle()}});
  return y;
}

Tensor softmax_backward_values(const Tensor& y, const Tensor& dy) {
  SUGAR_CHECK(y.shape() == dy.shape(), "softmax: the gradient's shape ", to_string(dy.shape()),
              " is not the output's ", to_string(y.shape()));
  const Tensor dst = y.to_plain();
  const Tensor diff_dst = dy.to_desc(dst.desc());
  Tensor dx = Tensor::from_desc(dst.desc());
  execute_primitive(backward_primitive(dst.desc()).primitive, {{DNNL_ARG_DST, dst.memory_handle()},
                                                                {DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                                                {DNNL_ARG_DIFF_SRC, dx.memory_handle()}});
  return dx;
}

Tensor softmax(const Tensor& x) {
  profiler::Scope scope(profiler::OpKind::activation_forward);  // the backward: activation_backward
  Tensor y = softmax_values(x);
  if (!autograd::needs_grad({x})) return y;
  autograd::record("softmax", {x}, {y}, [x_grad = autograd::grad_target(x), saved_y = y.detach()](const std::vector<Tensor>& grads) {
    autograd::accumulate_grad(x_grad, softmax_backward_values(saved_y, grads[0]));
  });
  return y;
}

}  // namespace sugar::ops
