#pragma once
// Closed forms of every built-in element-wise activation and of its derivative, written out in
// double precision independently of the library's scalar functions (shared by the activation
// tests). Derivatives at kinks follow PyTorch's kernels.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace sugar::activation_reference {

using Fn = std::function<double(double)>;

struct Reference {
  std::string spec;  // as a user writes it
  Fn f;
  Fn df;
  std::vector<double> kinks;  // where f or f' is not smooth (finite differences stay away)
};

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline std::vector<Reference> elementwise_references() {
  const double selu_alpha = 1.6732632423543772, selu_scale = 1.0507009873554805;
  const double pi = 3.14159265358979323846;
  auto leaky = [](double s) {
    return Reference{"", [s](double x) { return x > 0 ? x : s * x; }, [s](double x) { return x > 0 ? 1.0 : s; }, {0}};
  };
  auto with_spec = [](Reference r, std::string spec) {
    r.spec = std::move(spec);
    return r;
  };
  auto softplus = [](double beta, double threshold) {
    return Reference{"",
                     [=](double x) { return beta * x > threshold ? x : std::log(1 + std::exp(beta * x)) / beta; },
                     [=](double x) { return beta * x > threshold ? 1.0 : std::exp(beta * x) / (1 + std::exp(beta * x)); },
                     {threshold / beta}};
  };
  auto silu = [](double beta) {
    return Reference{"", [=](double x) { return x * sigmoid(beta * x); },
                     [=](double x) {
                       const double s = sigmoid(beta * x);
                       return s + beta * x * s * (1 - s);
                     },
                     {}};
  };
  auto elu = [](double a) {
    return Reference{"", [=](double x) { return x > 0 ? x : a * (std::exp(x) - 1); },
                     [=](double x) { return x > 0 ? 1.0 : a * std::exp(x); }, {0}};
  };
  auto bsilu = [](double a) {
    return Reference{"", [=](double x) { return (x + a) * sigmoid(x) - a / 2; },
                     [=](double x) { return sigmoid(x) + (x + a) * sigmoid(x) * (1 - sigmoid(x)); }, {}};
  };
  auto nelu = [](double a) {
    return Reference{"", [=](double x) { return x > 0 ? x : a * x * x / (1 + x * x); },
                     [=](double x) { return x > 0 ? 1.0 : 2 * a * x / ((1 + x * x) * (1 + x * x)); }, {0}};
  };
  const Fn gelu_tanh_inner = [=](double x) { return std::sqrt(2 / pi) * (x + 0.044715 * x * x * x); };

  std::vector<Reference> refs;
  refs.push_back({"relu", [](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; }, {0}});
  refs.push_back(with_spec(leaky(0.01), "leaky_relu"));
  refs.push_back(with_spec(leaky(0.2), "leaky_relu(negative_slope=0.2)"));
  refs.push_back(with_spec(leaky((1.0 / 8 + 1.0 / 3) / 2), "rrelu"));  // evaluation mode
  refs.push_back(with_spec(leaky(0.3), "rrelu(lower=0.2, upper=0.4)"));
  refs.push_back(with_spec(elu(1.0), "elu"));
  refs.push_back(with_spec(elu(0.5), "elu(alpha=0.5)"));
  refs.push_back({"selu", [=](double x) { return selu_scale * (x > 0 ? x : selu_alpha * (std::exp(x) - 1)); },
                  [=](double x) { return x > 0 ? selu_scale : selu_scale * selu_alpha * std::exp(x); }, {0}});
  refs.push_back({"relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); },
                  [](double x) { return x > 0 && x < 6 ? 1.0 : 0.0; }, {0, 6}});
  refs.push_back({"sigmoid", [](double x) { return sigmoid(x); },
                  [](double x) { return sigmoid(x) * (1 - sigmoid(x)); }, {}});
  refs.push_back({"tanh", [](double x) { return std::tanh(x); },
                  [](double x) { return 1 - std::tanh(x) * std::tanh(x); }, {}});
  refs.push_back({"hardsigmoid", [](double x) { return std::min(std::max(x + 3, 0.0), 6.0) / 6; },
                  [](double x) { return x > -3 && x < 3 ? 1.0 / 6 : 0.0; }, {-3, 3}});
  refs.push_back(with_spec(softplus(1, 20), "softplus"));
  refs.push_back(with_spec(softplus(2, 5), "softplus(beta=2, threshold=5)"));
  refs.push_back(with_spec(silu(1), "silu"));
  refs.push_back(with_spec(silu(1.5), "swish(beta=1.5)"));
  refs.push_back({"hardswish", [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; },
                  [](double x) { return x < -3 ? 0.0 : x <= 3 ? x / 3 + 0.5 : 1.0; }, {-3, 3}});
  refs.push_back({"mish", [](double x) { return x * std::tanh(std::log(1 + std::exp(x))); },
                  [](double x) {
                    const double t = std::tanh(std::log(1 + std::exp(x)));
                    return t + x * sigmoid(x) * (1 - t * t);
                  },
                  {}});
  refs.push_back({"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); },
                  [=](double x) {
                    return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-x * x / 2) / std::sqrt(2 * pi);
                  },
                  {}});
  refs.push_back({"gelu(approximate=tanh)", [=](double x) { return 0.5 * x * (1 + std::tanh(gelu_tanh_inner(x))); },
                  [=](double x) {
                    const double t = std::tanh(gelu_tanh_inner(x));
                    return 0.5 * (1 + t) +
                           0.5 * x * (1 - t * t) * std::sqrt(2 / pi) * (1 + 3 * 0.044715 * x * x);
                  },
                  {}});
  refs.push_back(with_spec(bsilu(1.67), "bsilu"));
  refs.push_back(with_spec(bsilu(0.5), "bsilu(alpha=0.5)"));
  refs.push_back(with_spec(nelu(0.05), "nelu"));
  refs.push_back(with_spec(nelu(0.1), "nelu(alpha=0.1)"));
  return refs;
}

// Points on both sides of every kink of the table (0, +-3, 6, softplus thresholds 20 and 2.5), the
// paper's reference inputs, and the tails.
inline std::vector<double> probe_points() {
  return {-30,     -8,     -6.5,   -3.001, -3,   -2.999, -1.8337, -1.4837, -1, -0.5773502691896258, -0.3, -1e-3,
          -1e-6,   0,      1e-6,   1e-3,   0.2671, 0.5,  1,      1.49,    2.499, 2.5, 2.501, 2.999, 3, 3.001,
          5.999,   6,      6.001,  10,     19.99, 20,   20.01,  40};
}

}  // namespace sugar::activation_reference
