#pragma once
// Stochastic depth (Huang et al. 2016) as torchvision's StochasticDepth(p, "row"): in training each
// sample of the batch is dropped whole with probability p (its values become 0) and the kept ones are
// scaled by 1 / (1 - p); evaluation, or p = 0, is the identity. A residual block applies it to its
// branch before the addition, so a dropped sample skips the block.
//
// Draws: sample n of a call uses counter (global sample index) of RandomStream(seed, "drop_path/" +
// path + "/" + call) (nn/random_calls.hpp), the global index being n plus the rank's offset in the global
// batch (nn/sample_offset.hpp): R ranks with batches of N / R drop exactly the samples one process with
// N drops, whatever the threads.
#include "sugar/nn/module.hpp"
#include "sugar/nn/random_calls.hpp"

namespace sugar::nn {

class DropPath : public Module, public RandomCalls {
 public:
  explicit DropPath(float p);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "StochasticDepth"; }
  void reset_parameters(uint64_t seed) override;
  float p() const { return p_; }
  // Changes the drop rate of a built model (torch: module.p = 0), as nn::Dropout::set_p.
  void set_p(float p);

 private:
  float p_;
};

}  // namespace sugar::nn
