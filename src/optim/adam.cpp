#include "sugar/optim/adam.hpp"

#include <algorithm>
#include <cmath>

#include "sugar/error.hpp"

namespace sugar::optim {

namespace {

void check_beta(const char* type, const char* which, double beta) {
  SUGAR_CHECK(std::isfinite(beta) && beta >= 0 && beta < 1, type, ": ", which, " must be in [0, 1), got ", beta);
}

const AdamOptions& checked(const char* type, const AdamOptions& o) {
  check_beta(type, "beta1", o.betas[0]);
  check_beta(type, "beta2", o.betas[1]);
  SUGAR_CHECK(std::isfinite(o.eps) && o.eps >= 0, type, ": eps must be >= 0, got ", o.eps);
  return o;
}

std::vector<ParamGroup> one_group(std::vector<Tensor> params) {
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}

std::vector<std::string> state_names(bool amsgrad) {
  if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam(one_group(std::move(params)), options) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options) : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* type, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled)
    : Optimizer(type, std::move(groups), options.lr, options.weight_decay, state_names(options.amsgrad), true),
      options_(checked(type, options)),
      decoupled_(decoupled) {}

void Adam::set_momentum(double beta1) {
  check_beta(decoupled_ ? "AdamW" : "Adam", "beta1", beta1);
  options_.betas[0] = beta1;
}

void Adam::update(Slot& slot, const Tensor& grad, const Group& group) {
  const int64_t n = slot.param.numel();
  for (Tensor& s : slot.state)
    if (!s.defined()) s = Tensor::zeros(slot.param.shape());
  slot.step += 1;

  float* p = slot.param.data<float>();
  const float* g = grad.data<float>();
  float* m = slot.state[0].data<float>();
  float* v = slot.state[1].data<float>();
  float* vmax = options_.amsgrad ? slot.state[2].data<float>() : nullptr;

  const double beta1 = options_.betas[0], beta2 = options_.betas[1];
  const double t = static_cast<double>(slot.step);
  // Scalars in double as PyTorch computes them in Python, then used in f32 element-wise.
  const float step_size = static_cast<float>(group.lr / (1.0 - std::pow(beta1, t)));
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(beta2, t)));
  const float eps = static_cast<float>(options_.eps);
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float one_minus_b1 = static_cast<float>(1.0 - beta1), one_minus_b2 = static_cast<float>(1.0 - beta2);
  const float l2 = decoupled_ ? 0.0f : static_cast<float>(group.weight_decay);
  const float shrink = decoupled_ ? static_cast<float>(1.0 - group.lr * group.weight_decay) : 1.0f;

#pragma omp parallel for if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * shrink;
    const float gi = g[i] + l2 * pi;
    const float mi = b1 * m[i] + one_minus_b1 * gi;
    float vi = b2 * v[i] + one_minus_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax) {
      vi = std::max(vmax[i], vi);
      vmax[i] = vi;
    }
    p[i] = pi - step_size * mi / (std::sqrt(vi) / bias_correction2_sqrt + eps);
  }
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam("AdamW", one_group(std::move(params)), options, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Adam("AdamW", std::move(groups), options, true) {}

}  // namespace sugar::optim
