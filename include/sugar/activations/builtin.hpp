#pragma once
// The built-in rows of the activation table, ggml-style: an enum, a name table and a row table
// whose sizes are checked against each other at compile time, so a row cannot be added without its
// name (and, through the scalar structs, without its derivative).
#include <string_view>
#include <vector>

#include "sugar/activations/activation_row.hpp"

namespace sugar::activations {

enum class Builtin : int {
  relu,
  leaky_relu,
  rrelu,
  elu,
  selu,
  relu6,
  sigmoid,
  tanh,
  hardsigmoid,
  softplus,
  silu,
  hardswish,
  mish,
  gelu,
  bsilu,
  nelu,
  sugar,
  count,
};

std::string_view builtin_name(Builtin id);

// The built-in rows in enum order (the registry registers them before anything else).
std::vector<ActivationRow> builtin_activation_rows();

// The `apply` of the rows that are not one element-wise pair.
// rrelu: random slope per element in training, their mean (lower + upper) / 2 in evaluation.
Tensor apply_rrelu(const ActivationSpec& spec, const Tensor& x, bool training, const RandomSource& random);
// sugar: forward = the `forward` row (ReLU by default); backward = dy * g'(x) of the `surrogate` row
// g, everywhere (region=all) or only where x <= 0 with the forward's own derivative above
// (region=negative).
Tensor apply_sugar(const ActivationSpec& spec, const Tensor& x, bool training, const RandomSource& random);

}  // namespace sugar::activations
