#pragma once
// What a weighted layer (Conv2d, Linear) saw in its last forward, kept so that its FLOPs can be
// counted afterwards (nn/direct_flops.hpp) without knowing the model's input size or wiring.
#include <cstdint>

namespace sugar::nn {

struct LayerCall {
  // Output positions per sample: OH x OW for a convolution, 1 for a linear layer. Each position
  // multiplies every weight once.
  int64_t output_positions = 0;
  // Whether the input needed a gradient (autograd on and the input depends on a parameter): the
  // backward computes the input's gradient (backward-data) only then. A model's first layer reads
  // the images, which need none.
  bool input_requires_grad = false;
};

}  // namespace sugar::nn
