#include "sugar/optim/sgd.hpp"

#include <cmath>

#include "sugar/error.hpp"

namespace sugar::optim {

namespace {

const SgdOptions& checked(const SgdOptions& o) {
  SUGAR_CHECK(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1, "SGD: momentum must be in [0, 1), got ",
              o.momentum);
  SUGAR_CHECK(std::isfinite(o.dampening) && o.dampening >= 0 && o.dampening <= 1,
              "SGD: dampening must be in [0, 1], got ", o.dampening);
  SUGAR_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
              "SGD: nesterov momentum requires momentum > 0 and dampening 0, got momentum ", o.momentum,
              ", dampening ", o.dampening);
  return o;
}

std::vector<ParamGroup> one_group(std::vector<Tensor> params) {
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, const SgdOptions& options) : SGD(one_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SgdOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay, {"momentum_buffer"}, false),
      options_(checked(options)) {}

void SGD::set_momentum(double momentum) {
  SgdOptions next = options_;
  next.momentum = momentum;
  options_ = checked(next);
}

void SGD::update(Slot& slot, const Tensor& grad, const Group& group) {
  float* p = slot.param.data<float>();
  const float* g = grad.data<float>();
  const int64_t n = slot.param.numel();
  const float lr = static_cast<float>(group.lr);
  const float wd = static_cast<float>(group.weight_decay);

  if (options_.momentum == 0) {
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }

  const float momentum = static_cast<float>(options_.momentum);
  const float keep = static_cast<float>(1.0 - options_.dampening);
  Tensor& buffer = slot.state[0];
  const bool first = !buffer.defined();
  if (first) buffer = Tensor::zeros(slot.param.shape());
  float* buf = buffer.data<float>();
  const bool nesterov = options_.nesterov;
#pragma omp parallel for if (n > 32768)
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * p[i];
    const float b = first ? d : momentum * buf[i] + keep * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + momentum * b : b);
  }
}

}  // namespace sugar::optim
