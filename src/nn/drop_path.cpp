#include "sugar/nn/drop_path.hpp"

#include <cmath>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/ops/scale.hpp"

namespace sugar::nn {

DropPath::DropPath(float p) : p_(p) {
  SUGAR_CHECK(std::isfinite(p) && p >= 0.0f && p < 1.0f, "StochasticDepth: p must be in [0, 1), got ", p);
}

void DropPath::set_p(float p) {
  SUGAR_CHECK(std::isfinite(p) && p >= 0.0f && p < 1.0f, "StochasticDepth: p must be in [0, 1), got ", p);
  p_ = p;
}

void DropPath::reset_parameters(uint64_t seed) { reset_calls(seed); }

Tensor DropPath::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0f) return x;
  SUGAR_CHECK(is_initialized(), display_name(),
              ": not seeded; call sugar::nn::initialize(model, seed) once the model is built");
  SUGAR_CHECK(x.ndim() >= 2, display_name(), ": expected an input [N, ...] with at least 2 dimensions, got ",
              to_string(x.shape()));
  const RandomStream rng = next_stream("drop_path", path());
  const auto first = static_cast<uint64_t>(current_sample_offset());
  const float kept = 1.0f / (1.0f - p_);
  std::vector<float> factors(static_cast<size_t>(x.dim(0)));
  for (size_t n = 0; n < factors.size(); ++n) factors[n] = rng.uniform(first + n) < p_ ? 0.0f : kept;
  return ops::sample_scale(x, factors);
}

}  // namespace sugar::nn
