#include "sugar/ops/shape.hpp"

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"

namespace sugar::ops {

Tensor flatten(const Tensor& x) {
  SUGAR_CHECK(x.ndim() >= 2, "flatten: expected [N, ...] with at least 2 dimensions, got ", to_string(x.shape()));
  const int64_t batch = x.dim(0);
  const int64_t features = x.numel() / batch;
  // A plain input is viewed without a copy; a blocked one is reordered once, here.
  Tensor y = x.to_plain().reshape({batch, features});
  autograd::record("flatten", {x}, {y}, [x_grad = autograd::grad_target(x), shape = x.shape()](const std::vector<Tensor>& grads) {
    // accumulate_grad reorders the plain gradient back to x's (possibly blocked) layout.
    autograd::accumulate_grad(x_grad, grads[0].to_plain().reshape(shape));
  });
  return y;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  SUGAR_CHECK(x.defined(), "reshape: the input is undefined");
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  SUGAR_CHECK(count == x.numel(), "reshape: cannot view ", to_string(x.shape()), " as ", to_string(shape));
  Tensor y = x.to_plain().reshape(shape);
  if (autograd::needs_grad({x}))
    autograd::record("reshape", {x}, {y}, [x_grad = autograd::grad_target(x), from = x.shape()](const std::vector<Tensor>& grads) {
      autograd::accumulate_grad(x_grad, grads[0].to_plain().reshape(from));
    });
  return y;
}

}  // namespace sugar::ops
