#pragma once
#include <cstdint>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::ops {

// Softmax cross-entropy with mean reduction over the batch, as torch.nn.functional.cross_entropy:
// logits [N, K] (any layout of a 2-d tensor), labels N class indices in [0, K). With label smoothing
// eps the target is (1 - eps) * one_hot + eps / K. Returns a one-element tensor of shape [1].
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, float label_smoothing = 0.0f);

}  // namespace sugar::ops
