#pragma once
#include <initializer_list>
#include <memory>
#include <vector>

#include "sugar/nn/module.hpp"

namespace sugar::nn {

// nn.Sequential: children named "0", "1", ... in order; forward feeds each one's output to the next.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules)
      : Sequential(std::vector<std::shared_ptr<Module>>(modules)) {}

  // Appends a module under the next index and returns it (typed, for the caller's convenience).
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    append(module);
    return module;
  }

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }

  size_t size() const { return modules_.size(); }
  // The i-th module; sugar::Error when i is out of range.
  Module& operator[](size_t i) const;

 private:
  void append(std::shared_ptr<Module> module);
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace sugar::nn
