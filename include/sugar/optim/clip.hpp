#pragma once
// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_(params, max_norm): with
// total = sqrt(sum over every defined gradient of its squared L2 norm) (summed in double), every
// gradient is multiplied by max_norm / (total + 1e-6) when that factor is below 1. Returns total (the
// norm before clipping). A non-finite total leaves the gradients as they are (the trainer's non-finite
// guard decides what happens to such a batch first).
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

}  // namespace sugar::optim
