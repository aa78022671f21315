#pragma once
// The scalar pair f(x; p), f'(x; p) of every built-in element-wise activation, one small struct per
// row. They are plain inline functions so that the generic loop (kernels.hpp) inlines and
// vectorises them; the loop itself lives elsewhere and knows nothing about any activation.
//
// `p` holds the row's parameters in declared order (see builtin_rows.cpp). Gradients at kinks are
// PyTorch's: relu'(0) = 0, leaky_relu'(0) = negative_slope, elu'(0) = alpha, relu6' = 0 at 0 and 6,
// hardsigmoid' = 0 at -3 and 3, hardswish'(-3) = -0.5 and hardswish'(3) = 1.5 (PyTorch's scalar
// and CUDA kernels: 0 below -3, x/3 + 1/2 up to and including 3, 1 above).
#include <cmath>

namespace sugar::activations::scalar {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// log(1 + exp(z)) without overflow for large z: max(z, 0) + log1p(exp(-|z|)).
inline float log1p_exp(float z) { return std::fmax(z, 0.0f) + std::log1p(std::exp(-std::fabs(z))); }

struct Relu {
  static float f(float x, const float*) { return x > 0.0f ? x : 0.0f; }
  static float df(float x, const float*) { return x > 0.0f ? 1.0f : 0.0f; }
};

// p[0] = negative_slope
struct LeakyRelu {
  static float f(float x, const float* p) { return x > 0.0f ? x : p[0] * x; }
  static float df(float x, const float* p) { return x > 0.0f ? 1.0f : p[0]; }
};

// rrelu in evaluation mode: leaky ReLU with the mean slope. p[0] = lower, p[1] = upper.
struct RReluEval {
  static float slope(const float* p) { return 0.5f * (p[0] + p[1]); }
  static float f(float x, const float* p) { return x > 0.0f ? x : slope(p) * x; }
  static float df(float x, const float* p) { return x > 0.0f ? 1.0f : slope(p); }
};

// p[0] = alpha
struct Elu {
  static float f(float x, const float* p) { return x > 0.0f ? x : p[0] * std::expm1(x); }
  static float df(float x, const float* p) { return x > 0.0f ? 1.0f : p[0] * std::exp(x); }
};

struct Selu {
  static constexpr float alpha = 1.6732632423543772f;
  static constexpr float scale = 1.0507009873554805f;
  static float f(float x, const float*) { return scale * (x > 0.0f ? x : alpha * std::expm1(x)); }
  static float df(float x, const float*) { return x > 0.0f ? scale : scale * alpha * std::exp(x); }
};

struct Relu6 {
  static float f(float x, const float*) { return std::fmin(std::fmax(x, 0.0f), 6.0f); }
  static float df(float x, const float*) { return x > 0.0f && x < 6.0f ? 1.0f : 0.0f; }
};

struct Sigmoid {
  static float f(float x, const float*) { return sigmoid(x); }
  static float df(float x, const float*) {
    const float s = sigmoid(x);
    return s * (1.0f - s);
  }
};

struct Tanh {
  static float f(float x, const float*) { return std::tanh(x); }
  static float df(float x, const float*) {
    const float t = std::tanh(x);
    return 1.0f - t * t;
  }
};

struct HardSigmoid {
  static float f(float x, const float*) { return std::fmin(std::fmax(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
  static float df(float x, const float*) { return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f; }
};

// p[0] = beta, p[1] = threshold: linear where beta * x > threshold, as PyTorch.
struct Softplus {
  static float f(float x, const float* p) {
    const float z = p[0] * x;
    return z > p[1] ? x : log1p_exp(z) / p[0];
  }
  static float df(float x, const float* p) {
    const float z = p[0] * x;
    return z > p[1] ? 1.0f : sigmoid(z);
  }
};

// x * sigmoid(beta * x); p[0] = beta
struct Silu {
  static float f(float x, const float* p) { return x * sigmoid(p[0] * x); }
  static float df(float x, const float* p) {
    const float s = sigmoid(p[0] * x);
    return s + p[0] * x * s * (1.0f - s);
  }
};

struct HardSwish {
  static float f(float x, const float*) { return x * std::fmin(std::fmax(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
  static float df(float x, const float*) { return x < -3.0f ? 0.0f : x <= 3.0f ? x / 3.0f + 0.5f : 1.0f; }
};

struct Mish {
  static float f(float x, const float*) { return x * std::tanh(log1p_exp(x)); }
  static float df(float x, const float*) {
    const float t = std::tanh(log1p_exp(x));
    return t + x * sigmoid(x) * (1.0f - t * t);
  }
};

// p[0] = approximate: 0 = none (x * Phi(x) with the exact erf), 1 = tanh.
struct Gelu {
  static constexpr float kSqrt2OverPi = 0.7978845608028654f;
  static constexpr float kCubic = 0.044715f;
  static constexpr float kInvSqrt2 = 0.7071067811865476f;
  static constexpr float kInvSqrt2Pi = 0.3989422804014327f;
  static float f(float x, const float* p) {
    if (p[0] != 0.0f) return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x)));
    return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
  }
  static float df(float x, const float* p) {
    if (p[0] != 0.0f) {
      const float t = std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
    }
    return 0.5f * (1.0f + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
  }
};

// B-SiLU (SUGAR paper): (x + alpha) * sigmoid(x) - alpha / 2; p[0] = alpha
struct BSilu {
  // Written as x * sigmoid(x) + (alpha / 2) * tanh(x / 2), the same function (sigmoid(x) - 1/2 =
  // tanh(x/2) / 2) without the cancellation of the textbook form: the two terms share their sign.
  static float f(float x, const float* p) { return x * sigmoid(x) + 0.5f * p[0] * std::tanh(0.5f * x); }
  static float df(float x, const float* p) {
    const float s = sigmoid(x);
    return s + (x + p[0]) * s * (1.0f - s);
  }
};

// NeLU (SUGAR paper), defined by its gradient: 1 for x > 0, 2*alpha*x / (1 + x^2)^2 for x <= 0; the
// forward is x for x > 0 and the continuous antiderivative alpha * x^2 / (1 + x^2) below. p[0] = alpha
struct Nelu {
  static float f(float x, const float* p) {
    if (x > 0.0f) return x;
    const float t = x * x;
    return t < 1e30f ? p[0] * t / (1.0f + t) : p[0];  // alpha * t / (1 + t) -> alpha, without inf / inf
  }
  static float df(float x, const float* p) {
    if (x > 0.0f) return 1.0f;
    const float u = 1.0f + x * x;
    return 2.0f * p[0] * x / (u * u);
  }
};

}  // namespace sugar::activations::scalar
