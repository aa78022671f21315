// The learnable activations' rows in the activation table (see rows.hpp).
#include <cmath>

#include "sugar/activations/learnable/rows.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations::learnable {

namespace {

using P = ActivationParam;

inline float sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

// y = f(x) point by point; the backward sends dy * df(x). Any layout (padding lanes stay zero).
template <class F, class DF>
Tensor pointwise(const char* name, const Tensor& x, F f, DF df) {
  Tensor y = ops::map_elements(x, f);
  if (autograd::needs_grad({x})) {
    autograd::record(name, {x}, {y}, [x, df](const std::vector<Tensor>& grads) {
      autograd::accumulate_grad(x, ops::zip_elements(x, grads[0], [df](float v, float g) { return g * df(v); }));
    });
  }
  return y;
}

Tensor acon_pointwise(const char* name, const Tensor& x, float p1, float p2, float beta) {
  const float d = p1 - p2;
  return pointwise(
      name, x, [=](float v) { return d * v * sigmoid(beta * d * v) + p2 * v; },
      [=](float v) {
        const float z = beta * d * v;
        const float s = sigmoid(z);
        return d * (s + z * s * (1.0f - s)) + p2;
      });
}

// max(x, 0) with ties to x: frelu with T = 0, maxout with its initial pieces.
Tensor relu_ties_to_x(const char* name, const Tensor& x) {
  return pointwise(
      name, x, [](float v) { return 0.0f > v ? 0.0f : v; }, [](float v) { return 0.0f > v ? 0.0f : 1.0f; });
}

float number(const ActivationSpec& spec, const char* param) { return static_cast<float>(spec.number(param)); }

ActivationRow module_row(std::string name, std::string doc, std::vector<ActivationParam> params, ApplyFn apply) {
  ActivationRow row;
  row.name = std::move(name);
  row.doc = std::move(doc);
  row.kind = ActivationKind::module;
  row.learnable = true;
  row.params = std::move(params);
  row.apply = std::move(apply);
  return row;
}

}  // namespace

std::vector<ActivationRow> learnable_activation_rows() {
  std::vector<ActivationRow> rows;
  rows.push_back(module_row(
      "prelu", "x > 0 ? x : a_c * x with a learnable slope a_c per channel (PyTorch's PReLU), a_c = init at start",
      {P::number("init", 0.25, "initial slope of every channel")},
      [](const ActivationSpec& spec, const Tensor& x, bool, const RandomSource&) {
        const float a = number(spec, "init");
        return pointwise(
            "prelu", x, [a](float v) { return v > 0.0f ? v : a * v; }, [a](float v) { return v > 0.0f ? 1.0f : a; });
      }));
  rows.push_back(module_row(
      "acon_c",
      "ACON-C: (p1 - p2) * x * sigmoid(beta * (p1 - p2) * x) + p2 * x with learnable p1, p2, beta per channel",
      {P::number("p1", 1.0, "initial p1"), P::number("p2", 0.0, "initial p2"), P::number("beta", 1.0, "initial beta")},
      [](const ActivationSpec& spec, const Tensor& x, bool, const RandomSource&) {
        return acon_pointwise("acon_c", x, number(spec, "p1"), number(spec, "p2"), number(spec, "beta"));
      }));
  rows.push_back(module_row(
      "meta_acon_c",
      "Meta-ACON-C: acon_c with beta = sigmoid(fc2(fc1(global_avg_pool(x)))) per sample and channel, fc1 a 1x1 "
      "conv C -> max(r, C / r), fc2 back to C (both with bias, no BN); p1, p2 learnable per channel. Pointwise "
      "evaluation uses beta = 1/2",
      {P::integer("r", 16, "reduction ratio of the beta network").at_least(1).at_most(1024), P::number("p1", 1.0, "initial p1"),
       P::number("p2", 0.0, "initial p2")},
      [](const ActivationSpec& spec, const Tensor& x, bool, const RandomSource&) {
        return acon_pointwise("meta_acon_c", x, number(spec, "p1"), number(spec, "p2"), 0.5f);
      }));
  rows.push_back(module_row(
      "frelu",
      "FReLU (funnel activation): max(x, BN(depthwise 3x3 conv(x))), gradient to the larger (ties to x); the conv "
      "has no bias (BN follows). Pointwise evaluation uses BN's initial output 0: max(x, 0)",
      {}, [](const ActivationSpec&, const Tensor& x, bool, const RandomSource&) { return relu_ties_to_x("frelu", x); }));
  rows.push_back(module_row(
      "maxout",
      "maxout of k learnable per-channel affine pieces: max_j (a_j * x + b_j), initialised as ReLU (a_0 = 1, "
      "others 0, b = 0); gradient through the winning piece (the first on ties)",
      {P::integer("k", 2, "number of pieces").at_least(1).at_most(64)},
      [](const ActivationSpec&, const Tensor& x, bool, const RandomSource&) { return relu_ties_to_x("maxout", x); }));
  return rows;
}

}  // namespace sugar::activations::learnable
