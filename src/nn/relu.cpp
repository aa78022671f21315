#include "sugar/nn/relu.hpp"

#include "sugar/ops/relu.hpp"

namespace sugar::nn {

Tensor ReLU::forward(const Tensor& x) { return ops::relu(x); }

}  // namespace sugar::nn
