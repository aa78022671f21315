#pragma once
// The arithmetic a model's convolutions, linear layers and attention do per image, counted from their
// shapes as direct convolution does it: 2 FLOPs per multiply-add (the convention of every GFLOPS
// figure, and of bench/peak.hpp). A layer whose output has P positions per image (OH x OW; 1 for a
// classifier, the tokens for a linear layer over token tensors) and whose weight has K elements
// (O x C/groups x KH x KW; out x in) does
//   forward           2 x P x K
//   backward-data     2 x P x K   (only where the layer's input needed a gradient: not the first layer)
//   backward-weights  2 x P x K
// Attention over T tokens of width d in H heads (its q k^T and P v products) does 4 x H x T^2 x d
// forward and 8 x H x T^2 x d backward (counted as backward-data: it has no weights); the backward's
// recomputation of the probabilities (ops/attention.hpp) is not counted, as model FLOPs go.
// Winograd does fewer multiplies for the same result, so a rate computed from these counts can pass
// the machine's peak where Winograd runs. Batch norm, activations, pooling and the optimizer are not
// counted: they are a few FLOPs per element, bound by memory rather than arithmetic.
//
// The counts come from each layer's last forward (nn::LayerCall), so the model must have run one:
// a training forward (autograd on) for the backward counts, since that is when the first layer's
// input is seen to need no gradient.
#include <cstdint>
#include <optional>

#include "sugar/nn/layer_call.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::nn {

struct DirectFlops {
  double forward = 0;           // per image (count_direct_flops; totals of the last calls while summing)
  double backward_data = 0;
  double backward_weights = 0;
  int64_t layers = 0;           // modules counted
  double training() const { return forward + backward_data + backward_weights; }
};

// Sums every module's Module::count_flops (Conv2d, Linear and the attention modules count theirs) and
// divides by `images`, the batch of the model's last forward. Throws sugar::Error naming the first
// such layer that has not run a forward yet.
DirectFlops count_direct_flops(Module& model, int64_t images);

// What a layer adds to the totals of its last call (Module::count_flops implementations).
void add_layer_flops(DirectFlops& totals, const Module& layer, const std::optional<LayerCall>& call, int64_t weights);
void add_attention_flops(DirectFlops& totals, const Module& layer, const std::optional<AttentionCall>& call);

}  // namespace sugar::nn
