#pragma once
#include <cstdint>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::ops {

// Softmax cross-entropy with mean reduction over the batch, as torch.nn.functional.cross_entropy:
// logits [N, K] (any layout of a 2-d tensor), labels N class indices in [0, K). With label smoothing
// eps the target is (1 - eps) * one_hot + eps / K. Returns a one-element tensor of shape [1].
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, float label_smoothing = 0.0f);

// Two labels per sample, weighted: the target of sample n is
//   first_weight * smooth(first[n]) + (1 - first_weight) * smooth(second[n]),
// smooth(y) = (1 - eps) * one_hot(y) + eps / K: timm's mixup_target, learned with its
// SoftTargetCrossEntropy (sum_k -t_k log softmax_k, mean over the batch). first == second, or a
// weight of 1, is the ordinary cross-entropy above.
struct MixedLabels {
  std::vector<int32_t> first;
  std::vector<int32_t> second;
  double first_weight = 1.0;
};
Tensor cross_entropy(const Tensor& logits, const MixedLabels& labels, float label_smoothing = 0.0f);

}  // namespace sugar::ops
