#pragma once
#include "sugar/nn/module.hpp"
#include "sugar/nn/random_calls.hpp"

namespace sugar::nn {

// nn.Dropout(p). In training each call draws a fresh mask from
// RandomStream(seed, "dropout/" + path + "/" + call), where seed is the one given to nn::initialize,
// path the module's dotted name and call the number of training calls so far; so masks are
// reproducible, differ between calls and between dropout layers. Eval (or p = 0) is the identity.
class Dropout : public Module, public RandomCalls {
 public:
  explicit Dropout(float p = 0.5f);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  void reset_parameters(uint64_t seed) override;

  float p() const { return p_; }
  // Changes the drop probability of a built model (torch: module.p = 0), e.g. to compare a training
  // step with another library whose masks differ. p in [0, 1).
  void set_p(float p);

 private:
  float p_;
};

}  // namespace sugar::nn
