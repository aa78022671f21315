// Training-mode batch norm + ReLU fusion (see batch_norm_relu.hpp).
#include "sugar/nn/batch_norm_relu.hpp"

#include <atomic>

#include "sugar/activations/apply.hpp"
#include "sugar/autograd.hpp"

namespace sugar::nn {
namespace {

std::atomic<bool> fusion_enabled{true};

bool may_fuse(const BatchNorm2d& bn, const ActivationModule& act, const Tensor& x) {
  if (!fusion_enabled.load(std::memory_order_relaxed) || !bn.is_training() || bn.synchronised()) return false;
  const auto* plain = dynamic_cast<const Activation*>(&act);
  if (plain == nullptr || !activations::is_relu(plain->spec())) return false;
  if (plain->observer() != nullptr && !plain->observer()->watches_fused_relu()) return false;
  return autograd::needs_grad({x, bn.weight(), bn.bias()});
}

}  // namespace

void set_training_fusion(bool enabled) { fusion_enabled.store(enabled, std::memory_order_relaxed); }
bool training_fusion_enabled() { return fusion_enabled.load(std::memory_order_relaxed); }

Tensor batch_norm_activation(BatchNorm2d& bn, ActivationModule& act, const Tensor& x) {
  if (!may_fuse(bn, act, x)) return act.forward(bn.forward(x));
  const Tensor y = bn.forward_relu(x);
  return act.observer() != nullptr ? act.observer()->observe_relu_output(act, y) : y;
}

}  // namespace sugar::nn
