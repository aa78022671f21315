#pragma once
// What a weighted layer saw in its last forward, kept so that its FLOPs can be counted afterwards
// (nn/direct_flops.hpp) without knowing the model's input size or wiring.
#include <cstdint>

namespace sugar::nn {

struct LayerCall {
  // Output positions of the whole call: N x OH x OW for a convolution, the rows for a linear layer
  // (N for a classifier, N x tokens over token tensors, N x H x W over a map). Each position
  // multiplies every weight once.
  int64_t output_positions = 0;
  // Whether the input needed a gradient (autograd on and the input depends on a parameter): the
  // backward computes the input's gradient (backward-data) only then. A model's first layer reads
  // the images, which need none.
  bool input_requires_grad = false;
};

// An attention call softmax(q k^T) v over [batch, heads, tokens, head_width] (ops/attention.hpp).
struct AttentionCall {
  int64_t batch = 0, heads = 0, tokens = 0, head_width = 0;
  bool input_requires_grad = false;
};

}  // namespace sugar::nn
