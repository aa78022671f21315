#include "sugar/nn/flatten.hpp"

#include "sugar/error.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::nn {

Tensor Flatten::forward(const Tensor& x) {
  SUGAR_CHECK(x.ndim() >= 2, display_name(), ": expected at least 2 dimensions [N, ...], got ", to_string(x.shape()));
  return ops::flatten(x);
}

}  // namespace sugar::nn
