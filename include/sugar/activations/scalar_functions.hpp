#pragma once
// The scalar pair f(x; p), f'(x; p) of every built-in element-wise activation, one small struct per
// row. They are plain inline functions so that the generic loop (kernels.hpp) inlines and
// vectorises them; the loop itself lives elsewhere and knows nothing about any activation.
//
// `p` holds the row's parameters in declared order (see builtin_rows.cpp). Gradients at kinks are
// PyTorch's: relu'(0) = 0, leaky_relu'(0) = negative_slope, elu'(0) = alpha, relu6' = 0 at 0 and 6,
// hardsigmoid' = 0 at -3 and 3, hardswish'(-3) = -0.5 and hardswish'(3) = 1.5 (PyTorch's scalar
// and CUDA kernels: 0 below -3, x/3 + 1/2 up to and including 3, 1 above).
//
// The loops only vectorise when the scalar functions make no library calls and have no branches:
// fminf/fmaxf and expf are calls (without -ffast-math), so exp/expm1 come from the branch-free
// exp_parts below (within 2-3 float ulps of the exact value, see the tests); and under GCC's default
// -ftrapping-math a `c ? a : b` whose arms compute stays a branch (the arms may not be speculated),
// so every choice is written with pick(), a bitwise blend of two values computed unconditionally.
#include <bit>
#include <cmath>
#include <cstdint>

namespace sugar::activations::scalar {

// c ? a : b without a branch.
inline float pick(bool c, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & mask) | (std::bit_cast<uint32_t>(b) & ~mask));
}
inline float clamp(float x, float low, float high) { return pick(x < low, low, pick(x > high, high, x)); }

// e^x = scale * (1 + q): Cody-Waite reduction x = n ln2 + r with |r| <= ln2 / 2, scale = 2^n built
// from its bits, q = e^r - 1 by its Taylor series to degree 7 (truncation error < 1e-8 relative).
// x is clamped to [-87, 88] so that 2^n stays a normal float; beyond that exp saturates, which is
// what every function built on it wants (sigmoid(-100) = 6e-39 instead of 4e-44).
struct ExpParts {
  float scale;
  float q;
};
inline ExpParts exp_parts(float x) {
  x = clamp(x, -87.0f, 88.0f);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23)
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;             // ln2 = 0.693359375 - 2.12194440e-4
  const float q =
      r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return {scale, q};
}
inline float fast_exp(float x) {
  const ExpParts e = exp_parts(x);
  return e.scale + e.scale * e.q;
}
// e^x - 1 without cancellation near 0 (there n = 0, scale = 1 and the result is q itself).
inline float fast_expm1(float x) {
  const ExpParts e = exp_parts(x);
  return (e.scale - 1.0f) + e.scale * e.q;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

// log(1 + exp(z)) without overflow for large z: max(z, 0) + log1p(u) with u = exp(-|z|) in (0, 1],
// and log1p(u) = 2 atanh(t) with t = u / (2 + u) in (0, 1/3] by its odd series to t^13 (truncation
// error below 1e-8 relative; no cancellation for small u, where the result is about u).
inline float log1p_exp(float z) {
  const float u = fast_exp(-std::fabs(z));
  const float t = u / (2.0f + u);
  const float t2 = t * t;
  const float log1p_u =
      t * (2.0f + t2 * (2.0f / 3 + t2 * (2.0f / 5 + t2 * (2.0f / 7 + t2 * (2.0f / 9 + t2 * (2.0f / 11 + t2 * (2.0f / 13)))))));
  return pick(z > 0.0f, z, 0.0f) + log1p_u;
}

struct Relu {
  static float f(float x, const float*) { return pick(x > 0.0f, x, 0.0f); }
  static float df(float x, const float*) { return pick(x > 0.0f, 1.0f, 0.0f); }
};

// p[0] = negative_slope
struct LeakyRelu {
  static float f(float x, const float* p) { return pick(x > 0.0f, x, p[0] * x); }
  static float df(float x, const float* p) { return pick(x > 0.0f, 1.0f, p[0]); }
};

// rrelu in evaluation mode: leaky ReLU with the mean slope. p[0] = lower, p[1] = upper.
struct RReluEval {
  static float slope(const float* p) { return 0.5f * (p[0] + p[1]); }
  static float f(float x, const float* p) { return pick(x > 0.0f, x, slope(p) * x); }
  static float df(float x, const float* p) { return pick(x > 0.0f, 1.0f, slope(p)); }
};

// p[0] = alpha
struct Elu {
  static float f(float x, const float* p) { return pick(x > 0.0f, x, p[0] * fast_expm1(x)); }
  static float df(float x, const float* p) { return pick(x > 0.0f, 1.0f, p[0] * fast_exp(x)); }
};

struct Selu {
  static constexpr float alpha = 1.6732632423543772f;
  static constexpr float scale = 1.0507009873554805f;
  static float f(float x, const float*) { return scale * pick(x > 0.0f, x, alpha * fast_expm1(x)); }
  static float df(float x, const float*) { return pick(x > 0.0f, scale, scale * alpha * fast_exp(x)); }
};

struct Relu6 {
  static float f(float x, const float*) { return clamp(x, 0.0f, 6.0f); }
  static float df(float x, const float*) { return pick((x > 0.0f) & (x < 6.0f), 1.0f, 0.0f); }
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
  static float f(float x, const float*) { return clamp(x + 3.0f, 0.0f, 6.0f) / 6.0f; }
  static float df(float x, const float*) { return pick((x > -3.0f) & (x < 3.0f), 1.0f / 6.0f, 0.0f); }
};

// p[0] = beta, p[1] = threshold: linear where beta * x > threshold, as PyTorch.
struct Softplus {
  static float f(float x, const float* p) {
    const float z = p[0] * x;
    return pick(z > p[1], x, log1p_exp(z) / p[0]);
  }
  static float df(float x, const float* p) {
    const float z = p[0] * x;
    return pick(z > p[1], 1.0f, sigmoid(z));
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
  static float f(float x, const float*) { return x * clamp(x + 3.0f, 0.0f, 6.0f) / 6.0f; }
  static float df(float x, const float*) { return pick(x < -3.0f, 0.0f, pick(x <= 3.0f, x / 3.0f + 0.5f, 1.0f)); }
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
  // With m = expm1(-x) and d = 2 + m = 1 + exp(-x): sigmoid(x) = 1/d and sigmoid(x) - 1/2 = -m / (2d),
  // so f = x * sigmoid(x) + alpha * (sigmoid(x) - 1/2) = (x - alpha * m / 2) / d: the same function
  // without the cancellation of the textbook form near 0 (there f ~ 0.92 x, not 1.67 * 0.5 - 0.835).
  static float f(float x, const float* p) {
    const float m = fast_expm1(-x);
    return (x - 0.5f * p[0] * m) / (2.0f + m);
  }
  static float df(float x, const float* p) {
    const float s = sigmoid(x);
    return s + (x + p[0]) * s * (1.0f - s);
  }
};

// NeLU (SUGAR paper), defined by its gradient: 1 for x > 0, 2*alpha*x / (1 + x^2)^2 for x <= 0; the
// forward is x for x > 0 and the continuous antiderivative alpha * x^2 / (1 + x^2) below. p[0] = alpha
struct Nelu {
  static float f(float x, const float* p) {
    const float t = x * x;
    const float negative = pick(t < 1e30f, p[0] * t / (1.0f + t), p[0]);  // -> alpha, without inf / inf
    return pick(x > 0.0f, x, negative);
  }
  static float df(float x, const float* p) {
    const float u = 1.0f + x * x;
    return pick(x > 0.0f, 1.0f, 2.0f * p[0] * x / (u * u));
  }
};

}  // namespace sugar::activations::scalar
