#pragma once
// The ranks of a data-parallel run compute with one set of convolution algorithms: rank 0's. Left to
// itself, each rank would decide `auto`'s choices by its own timings (another host, or a store entry
// another rank re-measured a moment earlier), and the ranks would then sum gradients computed by
// different algorithms, a run that no single process could reproduce.
#include <functional>

#include "sugar/dist/communicator.hpp"
#include "sugar/ops/conv_algorithm.hpp"

namespace sugar::train {

// One decision: rank 0 runs `decide_here` and broadcasts the algorithms, whether they are provisional
// and how they were made; every other rank returns `undecided` (its own layer key and policy) with
// rank 0's decision, without deciding. Every rank must call it for the same layers in the same order
// (the ranks run one model on the same shapes, so their first calls meet the layers alike).
ops::ConvLayerChoice rank0_conv_choice(dist::Communicator& ranks, const ops::ConvLayerChoice& undecided,
                                       const std::function<ops::ConvLayerChoice()>& decide_here);

// Installs rank0_conv_choice as the process's agreement (ops::set_conv_choice_agreement) for its
// lifetime when there is more than one rank; nothing otherwise.
class RankZeroConvChoices {
 public:
  explicit RankZeroConvChoices(dist::Communicator& ranks);
  ~RankZeroConvChoices();
  RankZeroConvChoices(const RankZeroConvChoices&) = delete;
  RankZeroConvChoices& operator=(const RankZeroConvChoices&) = delete;

 private:
  bool installed_ = false;
};

}  // namespace sugar::train
