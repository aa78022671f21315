#include "sugar/optim/clip.hpp"

#include <cmath>

#include "sugar/error.hpp"

namespace sugar::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  SUGAR_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm_: max_norm must be positive, got ", max_norm);
  double squares = 0;
  for (const Tensor& p : params) {
    if (!p.grad().defined()) continue;
    for (float g : p.grad().to_vector()) squares += static_cast<double>(g) * g;
  }
  const double total = std::sqrt(squares);
  const double factor = max_norm / (total + 1e-6);
  if (!std::isfinite(total) || factor >= 1.0) return total;
  for (const Tensor& p : params) {
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    Tensor scaled = grad.to_desc(plain_desc(grad.shape(), DType::f32)).clone();
    float* g = scaled.data<float>();
    const auto f = static_cast<float>(factor);  // PyTorch multiplies by a float32 factor
    for (int64_t i = 0; i < scaled.numel(); ++i) g[i] *= f;
    Tensor param = p;  // a handle: the parameter itself
    param.set_grad(scaled);
  }
  return total;
}

}  // namespace sugar::optim
