#include "sugar/nn/direct_flops.hpp"

#include "sugar/error.hpp"

namespace sugar::nn {

void add_layer_flops(DirectFlops& totals, const Module& layer, const std::optional<LayerCall>& call, int64_t weights) {
  SUGAR_CHECK(call.has_value(), "FLOP count: ", layer.display_name(),
              " has not run a forward yet; run one batch through the model first");
  const double per_pass = 2.0 * static_cast<double>(call->output_positions) * static_cast<double>(weights);
  totals.forward += per_pass;
  if (call->input_requires_grad) totals.backward_data += per_pass;
  totals.backward_weights += per_pass;
  ++totals.layers;
}

void add_attention_flops(DirectFlops& totals, const Module& layer, const std::optional<AttentionCall>& call) {
  SUGAR_CHECK(call.has_value(), "FLOP count: ", layer.display_name(),
              " has not run a forward yet; run one batch through the model first");
  // q k^T and P v: 2 x T x T x d each per head and sample; the backward's dP, dv, dq and dk twice that.
  const double product = 2.0 * static_cast<double>(call->batch) * static_cast<double>(call->heads) *
                         static_cast<double>(call->tokens) * static_cast<double>(call->tokens) *
                         static_cast<double>(call->head_width);
  totals.forward += 2 * product;
  if (call->input_requires_grad) totals.backward_data += 4 * product;
  ++totals.layers;
}

DirectFlops count_direct_flops(Module& model, int64_t images) {
  SUGAR_CHECK(images > 0, "FLOP count: the number of images must be positive, got ", images);
  DirectFlops flops;
  for (const auto& [path, module] : model.named_modules()) module->count_flops(flops);
  const double n = static_cast<double>(images);
  flops.forward /= n;
  flops.backward_data /= n;
  flops.backward_weights /= n;
  return flops;
}

}  // namespace sugar::nn
