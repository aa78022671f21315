#pragma once
#include <array>

#include "sugar/optim/optimizer.hpp"

namespace sugar::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};  // each in [0, 1)
  double eps = 1e-8;                         // >= 0
  double weight_decay = 0.0;                 // Adam: L2 added to the gradient; AdamW: decoupled
  bool amsgrad = false;
};

// torch.optim.Adam, per parameter p with gradient g, step t counted per parameter from 1:
//   g = g + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   vmax = max(vmax, v)                                           (amsgrad; the denominator uses vmax)
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "<param>.exp_avg", "<param>.exp_avg_sq" (+ "<param>.max_exp_avg_sq"), counter "<param>.step".
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options);

  std::string type_name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  // Sets beta1 (what OneCycleLR cycles for Adam).
  void set_momentum(double beta1) override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(const char* type, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled);
  void update(Slot& slot, const Tensor& grad, const Group& group) override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

// torch.optim.AdamW: as Adam, but the weight decay is decoupled from the gradient and applied first,
//   p = p * (1 - lr * weight_decay),
// then the Adam update with the raw gradient. Default weight_decay 1e-2, as PyTorch.
struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2; }
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options);
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options);
};

}  // namespace sugar::optim
