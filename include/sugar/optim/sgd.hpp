#pragma once
#include "sugar/optim/optimizer.hpp"

namespace sugar::optim {

struct SgdOptions {
  double lr = 0.1;
  double momentum = 0.0;      // [0, 1)
  double dampening = 0.0;     // [0, 1]
  bool nesterov = false;      // needs momentum > 0 and dampening 0 (as PyTorch)
  double weight_decay = 0.0;  // L2 penalty added to the gradient (default for groups)
};

// torch.optim.SGD, per parameter p with gradient g:
//   d = g + weight_decay * p
//   if momentum != 0:
//     buf = d                                         (first step: no dampening)
//     buf = momentum * buf + (1 - dampening) * d      (later steps)
//     d = nesterov ? d + momentum * buf : buf
//   p = p - lr * d
// State: "<param>.momentum_buffer" (only when momentum != 0).
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SgdOptions& options);
  SGD(std::vector<ParamGroup> groups, const SgdOptions& options);

  std::string type_name() const override { return "SGD"; }
  void set_momentum(double momentum) override;
  const SgdOptions& options() const { return options_; }

 protected:
  void update(Slot& slot, const Tensor& grad, const Group& group) override;

 private:
  SgdOptions options_;
};

}  // namespace sugar::optim
