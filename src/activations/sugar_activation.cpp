// SUGAR (Surrogate Gradient for ReLU, "The Resurrection of the ReLU", Horuz et al. 2025): the
// forward pass is exactly the `forward` row (ReLU), the backward replaces its derivative by the
// derivative g' of the `surrogate` row. Forward gradient injection computes y = relu(x) with
// dy/dx = g'(x) for every x; Sugar does the same directly: the forward saves x, the backward
// passes dy * g'(x) (region=all), or dy * forward'(x) for x > 0 and dy * g'(x) for x <= 0
// (region=negative).
#include "sugar/activations/apply.hpp"
#include "sugar/activations/builtin.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/eltwise.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::activations {

Tensor apply_sugar(const ActivationSpec& spec, const Tensor& x, bool, const RandomSource&) {
  const ActivationSpec& forward = spec.nested("forward");
  const ActivationSpec& surrogate = spec.nested("surrogate");
  const bool negative_region_only = spec.choice("region") == "negative";

  Tensor y = forward.row().kernels.forward(x, forward.kernel_params());
  if (!autograd::needs_grad({x})) return y;

  std::shared_ptr<const ActivationRow> forward_row = forward.row_ptr();
  std::shared_ptr<const ActivationRow> surrogate_row = surrogate.row_ptr();
  const ParamValues forward_params = forward.kernel_params();
  const ParamValues surrogate_params = surrogate.kernel_params();
  const bool forward_is_relu = forward_row->name == "relu";
  set_recompute_from_input(y, forward_row, forward_params, x);

  autograd::record("sugar", {x}, {y},
                   [=, x_grad = autograd::grad_target(x),
                    saved_x = autograd::SavedTensor(x)](const std::vector<Tensor>& grads) {
                     const Tensor& dy = grads[0];
                     const Tensor pre_activation = saved_x.get();
                     Tensor dx;
                     if (!negative_region_only) {
                       dx = surrogate_row->kernels.backward(pre_activation, dy, surrogate_params);
                     } else if (forward_is_relu) {
                       // ReLU's own derivative above 0 is 1: one fused pass.
                       dx = surrogate_row->kernels.backward_relu_positive(pre_activation, dy, surrogate_params);
                     } else {
                       const ScalarFn forward_derivative = forward_row->derivative;
                       const ScalarFn surrogate_derivative = surrogate_row->derivative;
                       dx = ops::zip_elements(pre_activation, dy, [=](float v, float g) {
                         return v > 0.0f ? g * forward_derivative(v, forward_params.data())
                                         : g * surrogate_derivative(v, surrogate_params.data());
                       });
                     }
                     autograd::accumulate_grad(x_grad, dx);
                   });
  return y;
}

}  // namespace sugar::activations
