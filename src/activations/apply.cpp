#include "sugar/activations/apply.hpp"

#include "sugar/activations/builtin.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::activations {

void set_recompute_from_input(const Tensor& y, const std::shared_ptr<const ActivationRow>& row, const ParamValues& p,
                              const Tensor& x) {
  if (!autograd::has_recompute(x)) return;
  autograd::set_recompute(y, [row, p, saved_x = autograd::SavedTensor(x)] {
    return row->kernels.forward(saved_x.get(), p);
  });
}

namespace {

// An elementwise row: y = f(x); the backward saves x (or y, where the row can compute from it) and
// passes dy * f'(x).
Tensor apply_elementwise(const ActivationSpec& spec, const Tensor& x) {
  std::shared_ptr<const ActivationRow> row = spec.row_ptr();
  const ParamValues p = spec.kernel_params();
  Tensor y = row->kernels.forward(x, p);
  if (!autograd::needs_grad({x})) return y;
  set_recompute_from_input(y, row, p, x);
  if (row->kernels.backward_from_output) {
    autograd::record(row->name, {x}, {y},
                     [row, p, x_grad = autograd::grad_target(x), saved_y = autograd::SavedTensor(y)](
                         const std::vector<Tensor>& grads) {
                       autograd::accumulate_grad(x_grad, row->kernels.backward_from_output(saved_y.get(), grads[0], p));
                     });
  } else {
    autograd::record(row->name, {x}, {y},
                     [row, p, x_grad = autograd::grad_target(x), saved_x = autograd::SavedTensor(x)](
                         const std::vector<Tensor>& grads) {
                       autograd::accumulate_grad(x_grad, row->kernels.backward(saved_x.get(), grads[0], p));
                     });
  }
  return y;
}

}  // namespace

std::optional<ops::EltwiseOp> inference_eltwise(const ActivationSpec& spec, bool training) {
  const ActivationRow& row = spec.row();
  switch (row.kind) {
    case ActivationKind::random:
      if (training) return std::nullopt;  // draws random slopes: no fixed function
      [[fallthrough]];
    case ActivationKind::elementwise:
      if (row.kernels.onednn_forward == nullptr) return std::nullopt;
      return row.kernels.onednn_forward(spec.kernel_params());
    case ActivationKind::combinator:
      return row.fused_forward ? row.fused_forward(spec, training) : std::nullopt;
    case ActivationKind::module:
      return std::nullopt;
  }
  return std::nullopt;
}

bool is_relu(const ActivationSpec& spec) { return spec.defined() && spec.row().name == builtin_name(Builtin::relu); }

Tensor apply_activation(const ActivationSpec& spec, const Tensor& x, bool training, const RandomSource& random) {
  SUGAR_CHECK(x.defined(), "activation ", spec.defined() ? spec.name() : std::string("?"),
              ": the input tensor is undefined");
  // Every row, built-in or registered by a program; the backward: activation_backward.
  profiler::Scope scope(profiler::OpKind::activation_forward);
  const ActivationRow& row = spec.row();
  if (row.apply) return row.apply(spec, x, training, random);
  return apply_elementwise(spec, x);
}

PointwiseValues evaluate_activation(const ActivationSpec& spec, const std::vector<float>& x, bool training,
                                    const RandomSource& random) {
  SUGAR_CHECK(!x.empty(), "activation ", spec.name(), ": no points to evaluate");
  SUGAR_CHECK(autograd::grad_enabled(), "activation ", spec.name(),
              ": evaluate_activation needs gradients, but it was called in no-grad mode");
  const Shape shape{static_cast<int64_t>(x.size())};
  Tensor input = Tensor::from_vector(shape, x);
  input.set_requires_grad(true);
  Tensor y = apply_activation(spec, input, training, random);
  PointwiseValues values;
  values.y = y.to_vector();
  autograd::backward(y, Tensor::full(shape, 1.0f));
  values.grad = input.grad().defined() ? input.grad().to_vector() : std::vector<float>(x.size(), 0.0f);
  return values;
}

}  // namespace sugar::activations
