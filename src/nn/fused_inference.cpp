// Evaluation-mode conv -> batch norm -> activation fusion (see fused_inference.hpp).
#include "sugar/nn/fused_inference.hpp"

#include <atomic>
#include <cmath>

#include "sugar/activations/apply.hpp"
#include "sugar/autograd.hpp"
#include "sugar/nn/batch_norm_relu.hpp"
#include "sugar/error.hpp"

namespace sugar::nn {
namespace {

std::atomic<bool> fusion_enabled{true};

// Whether conv (and bn) may run folded: evaluation, running statistics, no gradient to record.
bool may_fold(const Conv2d& conv, const BatchNorm2d* bn, const Tensor& x) {
  if (!fusion_enabled.load(std::memory_order_relaxed) || conv.is_training()) return false;
  std::vector<Tensor> inputs{x, conv.weight(), conv.bias()};
  if (bn != nullptr) {
    if (bn->is_training() || !bn->running_mean().defined()) return false;
    inputs.push_back(bn->weight());
    inputs.push_back(bn->bias());
  }
  return !autograd::needs_grad(inputs);
}

// The eltwise to run as the convolution's post-op, when act allows it (see the header).
std::optional<ops::EltwiseOp> fusable_activation(const ActivationModule* act) {
  const auto* plain = dynamic_cast<const Activation*>(act);
  if (plain == nullptr || plain->observer() != nullptr) return std::nullopt;
  return activations::inference_eltwise(plain->spec(), plain->is_training());
}

// The plain f32 values of an optional per-channel tensor, or `fallback` for each of n channels.
std::vector<double> channel_values(const Tensor& t, int64_t n, double fallback) {
  std::vector<double> values(static_cast<size_t>(n), fallback);
  if (!t.defined()) return values;
  const Tensor plain = t.is_plain() ? t : t.to_plain();
  const float* data = plain.data<float>();
  for (int64_t c = 0; c < n; ++c) values[static_cast<size_t>(c)] = data[c];
  return values;
}

}  // namespace

void set_inference_fusion(bool enabled) { fusion_enabled.store(enabled, std::memory_order_relaxed); }
bool inference_fusion_enabled() { return fusion_enabled.load(std::memory_order_relaxed); }

FoldedConv fold_batch_norm(const Conv2d& conv, const BatchNorm2d* bn) {
  const Tensor& weight = conv.weight();
  const int64_t out = conv.out_channels();
  FoldedConv folded;
  for (const Tensor* source : {&weight, &conv.bias()}) {
    if (!source->defined()) continue;
    folded.sources.push_back(source->storage());
    folded.versions.push_back(source->version());
  }
  if (bn == nullptr) {
    folded.weight = weight;
    folded.bias = conv.bias();
    return folded;
  }
  SUGAR_CHECK(bn->running_mean().defined(), "fold_batch_norm: ", bn->display_name(),
              " has no running statistics (track_running_stats off), so it normalises with each batch's own "
              "and cannot be folded");
  SUGAR_CHECK(bn->num_features() == out, "fold_batch_norm: ", bn->display_name(), " has ", bn->num_features(),
              " channels but ", conv.display_name(), " produces ", out);
  for (const Tensor* source : {&bn->weight(), &bn->bias(), &bn->running_mean(), &bn->running_var()}) {
    if (!source->defined()) continue;
    folded.sources.push_back(source->storage());
    folded.versions.push_back(source->version());
  }
  const std::vector<double> gamma = channel_values(bn->weight(), out, 1.0);
  const std::vector<double> beta = channel_values(bn->bias(), out, 0.0);
  const std::vector<double> mean = channel_values(bn->running_mean(), out, 0.0);
  const std::vector<double> var = channel_values(bn->running_var(), out, 1.0);
  const std::vector<double> conv_bias = channel_values(conv.bias(), out, 0.0);

  const Tensor plain_weight = weight.is_plain() ? weight : weight.to_plain();
  folded.weight = Tensor::zeros(weight.shape());
  folded.bias = Tensor::zeros({out});
  const float* w = plain_weight.data<float>();
  float* folded_w = folded.weight.data<float>();
  float* folded_b = folded.bias.data<float>();
  const int64_t per_channel = weight.numel() / out;
  for (int64_t o = 0; o < out; ++o) {
    const auto c = static_cast<size_t>(o);
    const double scale = gamma[c] / std::sqrt(var[c] + static_cast<double>(bn->options().eps));
    for (int64_t i = o * per_channel; i < (o + 1) * per_channel; ++i) folded_w[i] = static_cast<float>(w[i] * scale);
    folded_b[o] = static_cast<float>((conv_bias[c] - mean[c]) * scale + beta[c]);
  }
  return folded;
}

Tensor conv_bn_activation(Conv2d& conv, BatchNorm2d* bn, ActivationModule* act, const Tensor& x) {
  if (!may_fold(conv, bn, x)) {
    Tensor y = conv.forward(x);
    if (bn != nullptr && act != nullptr) return batch_norm_activation(*bn, *act, y);  // fused in training
    if (bn != nullptr) y = bn->forward(y);
    return act != nullptr ? act->forward(y) : y;
  }
  const std::optional<ops::EltwiseOp> activation = fusable_activation(act);
  Tensor y = conv.forward_fused(x, bn, activation);
  if (act != nullptr && !activation) y = act->forward(y);
  return y;
}

}  // namespace sugar::nn
