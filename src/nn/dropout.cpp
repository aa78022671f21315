#include "sugar/nn/dropout.hpp"

#include <string>

#include <algorithm>

#include "sugar/error.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/ops/dropout.hpp"

namespace sugar::nn {

Dropout::Dropout(float p) : p_(p) {
  SUGAR_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must be in [0, 1), got ", p);
}

void Dropout::set_p(float p) {
  SUGAR_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must be in [0, 1), got ", p);
  p_ = p;
}

void Dropout::reset_parameters(uint64_t seed) { reset_calls(seed); }

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0f) return x;
  SUGAR_CHECK(is_initialized(), display_name(),
              ": not seeded; call sugar::nn::initialize(model, seed) once the model is built");
  const RandomStream rng = next_stream("dropout", path());
  const auto per_sample = static_cast<uint64_t>(x.numel() / std::max<int64_t>(x.dim(0), 1));
  return ops::dropout(x, p_, true, rng, static_cast<uint64_t>(current_sample_offset()) * per_sample);
}

}  // namespace sugar::nn
