#pragma once
#include "sugar/random.hpp"
#include "sugar/tensor.hpp"

namespace sugar::ops {

// Training: zeroes each element with probability p and scales survivors by 1/(1-p); the mask is
// drawn from `rng` by logical element index (element i uses counter first_counter + i), so it does not
// depend on layout or threads. Eval (training = false) or p = 0: returns x unchanged. p must be in [0, 1).
Tensor dropout(const Tensor& x, float p, bool training, const RandomStream& rng, uint64_t first_counter = 0);

}  // namespace sugar::ops
