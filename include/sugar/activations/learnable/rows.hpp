#pragma once
// The rows of the learnable activations in the activation table: their names, spec parameters with
// defaults, and an `apply` that evaluates the function point by point with the parameters at the
// spec's values (what `sugar activations eval/plot` run; models get modules, nn/learnable_activations.hpp):
//   prelu        x > 0 ? x : init * x
//   acon_c       (p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x
//   meta_acon_c  acon_c with beta = sigmoid(0) = 1/2: the beta network's output for an input of zero
//                mean with the initial zero biases (a single point has no spatial mean to pool)
//   frelu        max(x, T) with the funnel condition T = 0 (BN's initial bias; a point has no window)
//   maxout       the initial pieces, max(x, 0)
// frelu and maxout route ties to x (their modules' rule), so their gradient at x = 0 is 1.
//
// This header needs only the table's types (no nn), so the table itself may include it.
#include <vector>

#include "sugar/activations/activation_row.hpp"

namespace sugar::activations::learnable {

// The rows prelu, acon_c, meta_acon_c, frelu, maxout (kind module, learnable).
std::vector<ActivationRow> learnable_activation_rows();

}  // namespace sugar::activations::learnable
