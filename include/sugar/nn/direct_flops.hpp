#pragma once
// The arithmetic a model's convolutions and linear layers do per image, counted from their shapes as
// direct convolution does it: 2 FLOPs per multiply-add (the convention of every GFLOPS figure, and
// of bench/peak.hpp). A layer whose output has P positions per image (OH x OW; 1 for Linear) and
// whose weight has K elements (O x C/groups x KH x KW; out x in) does
//   forward           2 x P x K
//   backward-data     2 x P x K   (only where the layer's input needed a gradient: not the first layer)
//   backward-weights  2 x P x K
// Winograd does fewer multiplies for the same result, so a rate computed from these counts can pass
// the machine's peak where Winograd runs. Batch norm, activations, pooling and the optimizer are not
// counted: they are a few FLOPs per element, bound by memory rather than arithmetic.
//
// The counts come from each layer's last forward (nn::LayerCall), so the model must have run one:
// a training forward (autograd on) for the backward counts, since that is when the first layer's
// input is seen to need no gradient.
#include <cstdint>

#include "sugar/nn/module.hpp"

namespace sugar::nn {

struct DirectFlops {
  double forward = 0;           // per image
  double backward_data = 0;     // per image
  double backward_weights = 0;  // per image
  int64_t layers = 0;           // Conv2d and Linear modules counted
  double training() const { return forward + backward_data + backward_weights; }
};

// Walks every Conv2d and Linear under `model`. Throws sugar::Error naming the first such layer that
// has not run a forward yet.
DirectFlops count_direct_flops(Module& model);

}  // namespace sugar::nn
