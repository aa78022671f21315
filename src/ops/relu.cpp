#include "sugar/ops/relu.hpp"

#include "sugar/autograd.hpp"
#include "sugar/ops/eltwise.hpp"
#include "sugar/profiler.hpp"

namespace sugar::ops {

Tensor relu(const Tensor& x) {
  profiler::Scope scope(profiler::OpKind::activation_forward);  // the backward: activation_backward
  if (!autograd::needs_grad({x}))
    return eltwise_forward(dnnl::algorithm::eltwise_relu, 0.f, 0.f, x, dnnl::prop_kind::forward_inference);

  // The backward reads y rather than x: y > 0 exactly where x > 0, so the gradient is dy there and 0
  // where x <= 0 (PyTorch's convention), and x need not be kept for this op.
  Tensor y = eltwise_forward(dnnl::algorithm::eltwise_relu_use_dst_for_bwd, 0.f, 0.f, x,
                             dnnl::prop_kind::forward_training);
  const Tensor saved_y = y.detach();
  autograd::record("relu", {x}, {y}, [x_grad = autograd::grad_target(x), saved_y](const std::vector<Tensor>& grads) {
    autograd::accumulate_grad(x_grad, relu_backward(saved_y, grads[0]));
  });
  return y;
}

Tensor relu_backward(const Tensor& y, const Tensor& dy) {
  return eltwise_backward(dnnl::algorithm::eltwise_relu_use_dst_for_bwd, 0.f, 0.f, y, dy);
}

}  // namespace sugar::ops
