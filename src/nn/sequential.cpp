#include "sugar/nn/sequential.hpp"

#include <string>

#include "sugar/error.hpp"
#include "sugar/nn/fused_inference.hpp"

namespace sugar::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) append(std::move(m));
}

void Sequential::append(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

Module& Sequential::operator[](size_t i) const {
  SUGAR_CHECK(i < modules_.size(), "Sequential: index ", i, " out of range for ", modules_.size(), " modules");
  return *modules_[i];
}

// A Conv2d followed by a BatchNorm2d and/or an activation site runs through conv_bn_activation,
// which fuses them in evaluation (nn/fused_inference.hpp) and otherwise calls them in turn.
Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (size_t i = 0; i < modules_.size();) {
    auto* conv = dynamic_cast<Conv2d*>(modules_[i].get());
    if (conv == nullptr) {
      y = modules_[i++]->forward(y);
      continue;
    }
    ++i;
    auto* bn = i < modules_.size() ? dynamic_cast<BatchNorm2d*>(modules_[i].get()) : nullptr;
    if (bn != nullptr) ++i;
    auto* act = i < modules_.size() ? dynamic_cast<ActivationModule*>(modules_[i].get()) : nullptr;
    if (act != nullptr) ++i;
    y = conv_bn_activation(*conv, bn, act, y);
  }
  return y;
}

}  // namespace sugar::nn
