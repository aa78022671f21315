#pragma once
// Evaluation: loss and top-1/top-5 accuracy of a model over a whole dataset, in no-grad and eval mode.
#include <cmath>
#include <cstdint>
#include <vector>

#include "sugar/data/loader.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/tensor.hpp"

namespace sugar::train {

struct EvalResult {
  double loss = 0;  // mean cross-entropy (no label smoothing); NaN or Inf when some outputs were
  double top1 = 0;  // percent
  double top5 = 0;  // percent (top-k with k = min(5, classes))
  int64_t samples = 0;
  int64_t nonfinite_samples = 0;  // images with a NaN or Inf among their logits (never counted as hits)
  bool finite() const { return nonfinite_samples == 0 && std::isfinite(loss); }
};

// How many of the N rows of logits [N, K] have the label among their k largest values. A tie with
// the label's value counts against it only for classes of smaller index (a stable descending sort).
// A row with a NaN or Inf anywhere is never a hit: NaN compares false with everything, so without
// this rule a NaN model would rank every label first and score 100%.
int64_t count_top_k(const std::vector<float>& logits, int64_t classes, const std::vector<int32_t>& labels, int64_t k);

// How many rows of logits [N, K] hold a NaN or Inf.
int64_t count_nonfinite_rows(const std::vector<float>& logits, int64_t classes);

// Runs every batch of `loader`'s epoch 0 through the model with `dtype` inputs. Puts the model in
// eval mode; the caller restores training mode. Data parallelism: with a loader sharded over the
// ranks of `ranks`, each rank evaluates its parts and the sums are added over ranks, so every rank
// returns the result over the whole dataset.
EvalResult evaluate(nn::Module& model, data::DataLoader& loader, DType dtype,
                    dist::Communicator& ranks = dist::single_process());

}  // namespace sugar::train
