#pragma once
#include "sugar/nn/module.hpp"

namespace sugar::nn {

// nn.ReLU(): y = max(x, 0), keeping x's layout.
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ReLU"; }
};

}  // namespace sugar::nn
