#include "sugar/train/evaluate.hpp"

#include <cmath>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/loss.hpp"

namespace sugar::train {

namespace {

bool row_is_finite(const float* row, int64_t classes) {
  for (int64_t j = 0; j < classes; ++j)
    if (!std::isfinite(row[j])) return false;
  return true;
}

}  // namespace

int64_t count_nonfinite_rows(const std::vector<float>& logits, int64_t classes) {
  SUGAR_CHECK(classes > 0 && logits.size() % static_cast<size_t>(classes) == 0, "count_nonfinite_rows: ",
              logits.size(), " logits are not rows of ", classes, " classes");
  int64_t rows = 0;
  for (size_t start = 0; start < logits.size(); start += static_cast<size_t>(classes))
    rows += row_is_finite(logits.data() + start, classes) ? 0 : 1;
  return rows;
}

int64_t count_top_k(const std::vector<float>& logits, int64_t classes, const std::vector<int32_t>& labels, int64_t k) {
  SUGAR_CHECK(static_cast<int64_t>(logits.size()) == classes * static_cast<int64_t>(labels.size()),
              "count_top_k: ", logits.size(), " logits for ", labels.size(), " labels of ", classes, " classes");
  int64_t hits = 0;
  for (size_t n = 0; n < labels.size(); ++n) {
    const float* row = logits.data() + static_cast<int64_t>(n) * classes;
    if (!row_is_finite(row, classes)) continue;
    const float target = row[labels[n]];
    int64_t rank = 0;  // classes ranked before the label
    for (int64_t j = 0; j < classes; ++j) {
      if (row[j] > target || (row[j] == target && j < labels[n])) ++rank;
    }
    if (rank < k) ++hits;
  }
  return hits;
}

EvalResult evaluate(nn::Module& model, data::DataLoader& loader, DType dtype, dist::Communicator& ranks) {
  autograd::NoGradGuard no_grad;
  model.eval();
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0, seen = 0, nonfinite = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    if (batch->size() == 0) continue;  // this rank's part of a batch smaller than the number of ranks
    const Tensor images = dtype == DType::f32 ? batch->images : batch->images.to_dtype(dtype);
    const Tensor logits = model(images);
    const auto n = static_cast<int64_t>(batch->labels.size());
    const int64_t classes = logits.dim(1);
    loss_sum += static_cast<double>(ops::cross_entropy(logits, batch->labels).item()) * static_cast<double>(n);
    const std::vector<float> values = logits.to_vector();
    top1 += count_top_k(values, classes, batch->labels, 1);
    top5 += count_top_k(values, classes, batch->labels, std::min<int64_t>(5, classes));
    nonfinite += count_nonfinite_rows(values, classes);
    seen += n;
  }
  if (ranks.size() > 1) {
    double sums[5] = {loss_sum, static_cast<double>(top1), static_cast<double>(top5), static_cast<double>(seen),
                      static_cast<double>(nonfinite)};
    ranks.allreduce_sum(sums, 5);
    loss_sum = sums[0];
    top1 = static_cast<int64_t>(sums[1]);
    top5 = static_cast<int64_t>(sums[2]);
    seen = static_cast<int64_t>(sums[3]);
    nonfinite = static_cast<int64_t>(sums[4]);
  }
  SUGAR_CHECK(seen > 0, "evaluate: ", loader.dataset().description(), " is empty");
  EvalResult result;
  result.samples = seen;
  result.nonfinite_samples = nonfinite;
  result.loss = loss_sum / static_cast<double>(seen);
  result.top1 = 100.0 * static_cast<double>(top1) / static_cast<double>(seen);
  result.top5 = 100.0 * static_cast<double>(top5) / static_cast<double>(seen);
  return result;
}

}  // namespace sugar::train
