#include "sugar/ops/loss.hpp"

#include <algorithm>
#include <cmath>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/profiler.hpp"

namespace sugar::ops {

namespace {

void check_labels(const Tensor& logits, const std::vector<int32_t>& labels) {
  const int64_t classes = logits.dim(1);
  for (size_t i = 0; i < labels.size(); ++i)
    SUGAR_CHECK(labels[i] >= 0 && labels[i] < classes, "cross_entropy: label ", i, " is ", labels[i],
                ", outside [0, K) with K = ", classes, " (logits ", to_string(logits.shape()), ")");
}

void check_cross_entropy_arguments(const Tensor& logits, const MixedLabels& labels, float label_smoothing) {
  SUGAR_CHECK(logits.ndim() == 2, "cross_entropy: logits must be [N, K], got ", to_string(logits.shape()));
  const int64_t batch = logits.dim(0);
  SUGAR_CHECK(static_cast<int64_t>(labels.first.size()) == batch, "cross_entropy: ", labels.first.size(),
              " labels given for a batch of ", batch, " (logits ", to_string(logits.shape()), ")");
  SUGAR_CHECK(labels.second.size() == labels.first.size(), "cross_entropy: ", labels.second.size(),
              " second labels given for ", labels.first.size(), " first labels");
  SUGAR_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  SUGAR_CHECK(labels.first_weight >= 0.0 && labels.first_weight <= 1.0,
              "cross_entropy: the first label's weight must be in [0, 1], got ", labels.first_weight);
  check_labels(logits, labels.first);
  check_labels(logits, labels.second);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, float label_smoothing) {
  return cross_entropy(logits, MixedLabels{labels, labels, 1.0}, label_smoothing);
}

Tensor cross_entropy(const Tensor& logits, const MixedLabels& labels, float label_smoothing) {
  profiler::Scope scope(profiler::OpKind::loss);  // its backward too
  check_cross_entropy_arguments(logits, labels, label_smoothing);
  const int64_t batch = logits.dim(0);
  const int64_t classes = logits.dim(1);
  const std::vector<float> z = logits.to_vector();
  // Target t = w * smooth(first) + (1 - w) * smooth(second), smooth(y) = (1 - eps) * one_hot(y) + eps / K,
  // so loss_n = sum_k t_k * (lse_n - z_nk) with
  // lse_n - z_nk = (max_n - z_nk) + log(sum_j exp(z_nj - max_n)): every term is >= 0 and no exp
  // overflows. Accumulated in double.
  const double eps = label_smoothing;
  const double off_target = eps / static_cast<double>(classes);
  const double on_target = 1.0 - eps + off_target;
  const double w = labels.first_weight;
  // t_nk, written so that one label (w = 1) gives exactly on_target and off_target.
  const auto target = [on_target, off_target, w](int32_t first, int32_t second, int64_t k) {
    return w * (k == first ? on_target : off_target) + (1.0 - w) * (k == second ? on_target : off_target);
  };

  Tensor probabilities = Tensor::zeros({batch, classes});  // softmax, kept for the backward
  float* prob = probabilities.data<float>();
  std::vector<double> row_loss(batch);
#pragma omp parallel for schedule(static) if (batch * classes > 65536)
  for (int64_t n = 0; n < batch; ++n) {
    const float* row = z.data() + n * classes;
    const double row_max = *std::max_element(row, row + classes);
    double exp_sum = 0;
    for (int64_t k = 0; k < classes; ++k) exp_sum += std::exp(static_cast<double>(row[k]) - row_max);
    const double log_sum = std::log(exp_sum);
    double loss = 0;
    for (int64_t k = 0; k < classes; ++k) {
      const double neg_log_prob = (row_max - row[k]) + log_sum;
      loss += target(labels.first[n], labels.second[n], k) * neg_log_prob;
      prob[n * classes + k] = static_cast<float>(std::exp(-neg_log_prob));
    }
    row_loss[n] = loss;
  }
  // Summed in a fixed order so that the loss does not depend on the thread count.
  double total = 0;
  for (double l : row_loss) total += l;
  Tensor out = Tensor::from_vector({1}, {static_cast<float>(total / static_cast<double>(batch))});

  autograd::record("cross_entropy", {logits}, {out},
                   [logits, labels, probabilities, target](const std::vector<Tensor>& grads) {
                     const int64_t n_rows = probabilities.dim(0);
                     const int64_t n_classes = probabilities.dim(1);
                     // d(mean loss)/dz_nk = (softmax_nk - t_nk) / N, times the upstream scalar.
                     const double scale = static_cast<double>(grads[0].item()) / static_cast<double>(n_rows);
                     Tensor dlogits = Tensor::zeros({n_rows, n_classes});
                     float* d = dlogits.data<float>();
                     const float* p = probabilities.data<float>();
                     for (int64_t n = 0; n < n_rows; ++n)
                       for (int64_t k = 0; k < n_classes; ++k) {
                         const double t = target(labels.first[n], labels.second[n], k);
                         d[n * n_classes + k] = static_cast<float>((p[n * n_classes + k] - t) * scale);
                       }
                     autograd::accumulate_grad(logits, dlogits);
                   });
  return out;
}

}  // namespace sugar::ops
