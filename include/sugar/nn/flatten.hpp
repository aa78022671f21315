#pragma once
#include "sugar/nn/module.hpp"

namespace sugar::nn {

// nn.Flatten() (start_dim 1): [N, d1, d2, ...] -> [N, d1*d2*...], plain row-major.
class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Flatten"; }
};

}  // namespace sugar::nn
