#include "sugar/activations/learnable/modules.hpp"

#include "sugar/error.hpp"

namespace sugar::activations::learnable {

namespace {

ActivationSpec checked_spec(ActivationSpec spec, const char* row_name) {
  if (!spec.defined()) throw Error(std::string(row_name) + ": the activation spec is undefined", ErrorKind::usage);
  if (spec.name() != row_name)
    throw Error(std::string(row_name) + ": built from a spec of '" + spec.name() + "' (" + spec.to_string() + ")",
                ErrorKind::usage);
  return spec;
}

}  // namespace

LearnableActivation::LearnableActivation(ActivationSpec spec, int64_t channels, const char* row_name)
    : spec_(checked_spec(std::move(spec), row_name)), channels_(channels) {
  if (channels <= 0)
    throw Error(std::string(row_name) + ": needs a positive channel count, got " + std::to_string(channels),
                ErrorKind::usage);
}

void LearnableActivation::check_input(const Tensor& x, bool needs_spatial) const {
  // display_name() is "layer1.0.act1 (PReLU)" inside a model.
  SUGAR_CHECK(x.defined(), display_name(), ": the input tensor is undefined");
  if (needs_spatial)
    SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
                ", H, W], got ", to_string(x.shape()));
  else
    SUGAR_CHECK(x.ndim() >= 2 && x.dim(1) == channels_, display_name(), ": expected input [N, ", channels_,
                ", ...], got ", to_string(x.shape()));
}

}  // namespace sugar::activations::learnable
