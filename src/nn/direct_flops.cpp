#include "sugar/nn/direct_flops.hpp"

#include <optional>

#include "sugar/error.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/linear.hpp"

namespace sugar::nn {

namespace {

void add_layer(DirectFlops& flops, const Module& layer, const std::optional<LayerCall>& call, const Tensor& weight) {
  SUGAR_CHECK(call.has_value(), "FLOP count: ", layer.display_name(),
              " has not run a forward yet; run one batch through the model first");
  const double per_pass = 2.0 * static_cast<double>(call->output_positions) * static_cast<double>(weight.numel());
  flops.forward += per_pass;
  if (call->input_requires_grad) flops.backward_data += per_pass;
  flops.backward_weights += per_pass;
  ++flops.layers;
}

}  // namespace

DirectFlops count_direct_flops(Module& model) {
  DirectFlops flops;
  for (const auto& [path, module] : model.named_modules()) {
    if (const auto* conv = dynamic_cast<const Conv2d*>(module)) add_layer(flops, *conv, conv->last_call(), conv->weight());
    if (const auto* linear = dynamic_cast<const Linear*>(module))
      add_layer(flops, *linear, linear->last_call(), linear->weight());
  }
  return flops;
}

}  // namespace sugar::nn
