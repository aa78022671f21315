#include "sugar/ops/add.hpp"

#include "sugar/autograd.hpp"
#include "sugar/tensor_math.hpp"
#include "sugar/profiler.hpp"

namespace sugar::ops {

Tensor add(const Tensor& a, const Tensor& b) {
  profiler::Scope scope(profiler::OpKind::add);
  Tensor y = add_same_layout(a, b);
  // dy/da = dy/db = 1: both inputs receive the upstream gradient unchanged (and their values are
  // not needed, so they are not kept).
  autograd::record("add", {a, b}, {y},
                   [a_grad = autograd::grad_target(a), b_grad = autograd::grad_target(b)](const std::vector<Tensor>& grads) {
    autograd::accumulate_grad(a_grad, grads[0]);
    autograd::accumulate_grad(b_grad, grads[0]);
  });
  return y;
}

}  // namespace sugar::ops
