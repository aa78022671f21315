#pragma once
// Applying an activation to a tensor: the autograd op behind every nonlinearity of a model.
#include <optional>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/tensor.hpp"

namespace sugar::activations {

// y = f(x) for the activation `spec`, with x's layout and data type (blocked layouts stay blocked,
// padding lanes stay zero). When x needs a gradient, the backward is recorded on the tape, built
// right here next to the forward: it saves x and passes dx = dy * f'(x) (for sugar: dy * g'(x) of the
// surrogate g; for rrelu in training: dy * the slope drawn for that element).
//
// `training` matters only for random rows (rrelu: random slopes in training, their mean in
// evaluation); `random` says where those draws come from. Module rows (learnable parameters) are
// evaluated with their parameters at the spec's values.
Tensor apply_activation(const ActivationSpec& spec, const Tensor& x, bool training = false,
                        const RandomSource& random = {});

// For the element-wise forward y = row(x) just run: when x can be recomputed in the backward (a
// batch-norm's output, sugar/saved_tensor.hpp), gives y a recipe too, so a backward that saves y
// keeps neither. apply_elementwise calls it, and so does sugar's apply (its forward is its `forward` row).
void set_recompute_from_input(const Tensor& y, const std::shared_ptr<const ActivationRow>& row, const ParamValues& p,
                              const Tensor& x);

// The oneDNN eltwise that computes the forward of `spec` exactly, when there is one: element-wise rows
// built on oneDNN (relu, leaky_relu, elu, gelu, silu, mish, ...), a random row in evaluation (rrelu:
// its mean slope), and sugar, whose forward is its `forward` row (ReLU). Empty for everything else
// (module rows, rows computed by Sugar's own loops, rrelu in training). Evaluation fuses such an
// activation into the convolution before it (nn/fused_inference.hpp).
std::optional<ops::EltwiseOp> inference_eltwise(const ActivationSpec& spec, bool training);

// Whether `spec` is ReLU itself, max(x, 0) with gradient dy where x > 0 and 0 elsewhere, in
// training as in evaluation: what a batch norm may run fused with (nn/batch_norm_relu.hpp). Not
// sugar (its backward needs x), not leaky_relu with slope 0 (another row).
bool is_relu(const ActivationSpec& spec);

// f(x) and what the backward sends for an upstream gradient of 1, at each of `x`: runs
// apply_activation on a 1-d tensor and back-propagates (the tape is cleared afterwards). This is
// what `sugar activations eval` prints and `plot` draws.
struct PointwiseValues {
  std::vector<float> y;
  std::vector<float> grad;
};
PointwiseValues evaluate_activation(const ActivationSpec& spec, const std::vector<float>& x, bool training = false,
                                    const RandomSource& random = {});

}  // namespace sugar::activations
