#pragma once
// One row of the activation table: everything Sugar knows about one activation function.
//
// A row is data, in the spirit of ggml's op table: a name, its aliases, its parameters with defaults
// and allowed values, and - for element-wise activations - the scalar pair f(x; p) and f'(x; p).
// Tiny scalar functions are kept apart from the one vectorised, OpenMP-parallel loop that applies
// them to tensors of any layout (sugar/ops/eltwise.hpp); `kernels` binds the two (see kernels.hpp).
//
// Kinds:
//   elementwise  y = f(x; p), deterministic, no learnable parameters. Only these may serve as the
//                forward or the surrogate of a SUGAR activation.
//   random       element-wise but draws random numbers in training (rrelu); the row's `apply` does it.
//   combinator   built from other rows (sugar); the row's `apply` does it.
//   module       learnable or spatial (prelu, acon_c, meta_acon_c, frelu, maxout): parameters that
//                the optimizer sees. The row describes the spec (name, parameters, defaults) and its
//                `apply` evaluates the function with parameter tensors initialised from the spec
//                (for `activations eval/plot`); the nn layer builds the module with real parameters.
//
// Gradients at kinks follow PyTorch (relu'(0) = 0, leaky_relu'(0) = negative_slope, ...), so that
// results can be compared with PyTorch runs.
#include <array>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sugar/ops/eltwise.hpp"
#include "sugar/random.hpp"
#include "sugar/tensor.hpp"

namespace sugar::activations {

class ActivationSpec;

// The most numeric parameters one row may have.
inline constexpr size_t kMaxActivationParams = 8;

// The numeric parameter values of one use of a row, in the row's declared order, as the scalar
// functions see them: a number as itself, an integer as itself, a choice as the index of the chosen
// word, an activation-valued parameter as 0 (combinators read those from the spec).
struct ParamValues {
  std::array<float, kMaxActivationParams> values{};
  const float* data() const { return values.data(); }
  float operator[](size_t i) const { return values[i]; }
};

// f(x; p) or f'(x; p): `params` points at ParamValues::values. A captureless lambda converts to it.
using ScalarFn = float (*)(float x, const float* params);

enum class ActivationKind { elementwise, random, combinator, module };
const char* kind_name(ActivationKind kind);

enum class ParamType {
  number,      // a real number, optionally bounded
  integer,     // a whole number, optionally bounded
  choice,      // one word out of `choices`
  activation,  // a nested activation spec (elementwise rows only), e.g. surrogate=elu(alpha=0.5)
};

// No parameter may exceed this magnitude, whatever its own range: 1e300 as a slope turns every output
// into Inf or NaN without an error, and a count as large allocates without bound.
inline constexpr double kMaxParamMagnitude = 1e6;

struct ActivationParam {
  std::string name;
  ParamType type = ParamType::number;
  double default_value = 0;          // number / integer; for a choice the index of the default word
  std::string default_activation;    // activation: the default spec text, e.g. "bsilu"
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;  // choice: the allowed words
  // activation: the nested row's parameters may also be written flat at this level, as in
  // sugar(surrogate=nelu, alpha=0.1). A flat key that two such parameters accept is an error.
  bool accepts_flat_keys = false;
  std::string doc;

  // Builders that read like the documentation: number("beta", 1).greater_than(0).
  static ActivationParam number(std::string name, double default_value, std::string doc = {});
  static ActivationParam integer(std::string name, int64_t default_value, std::string doc = {});
  static ActivationParam choice(std::string name, std::vector<std::string> choices, size_t default_index,
                                std::string doc = {});
  static ActivationParam activation(std::string name, std::string default_spec, bool accepts_flat_keys,
                                    std::string doc = {});
  ActivationParam& at_least(double bound);
  ActivationParam& greater_than(double bound);
  ActivationParam& at_most(double bound);
  ActivationParam& less_than(double bound);

  // "negative_slope=0.01" (the default as a spec writes it).
  std::string with_default() const;
  // "number > 0", "number in [0, 1]", "one of none|tanh", "activation": what values are allowed.
  std::string allowed_values() const;
  // Whether a number is allowed (type and range).
  bool allows(double value) const;
};

// A oneDNN eltwise algorithm with its alpha and beta, chosen from a row's parameter values.
using EltwiseAlgorithm = ops::EltwiseOp;
using ChooseEltwise = EltwiseAlgorithm (*)(const ParamValues& p);

// Fast tensor kernels of an element-wise row. Each returns a new tensor with x's layout and data
// type and keeps the padding lanes of blocked layouts zero.
struct ActivationKernels {
  // y = f(x; p). Must be a pure function of x and p: the backward may call it again to recompute y
  // instead of keeping it (sugar/saved_tensor.hpp), and needs the forward's values exactly.
  std::function<Tensor(const Tensor& x, const ParamValues& p)> forward;
  // dx = dy * f'(x; p)
  std::function<Tensor(const Tensor& x, const Tensor& dy, const ParamValues& p)> backward;
  // dx = dy where x > 0 (ReLU's own derivative), dy * f'(x; p) where x <= 0: the backward of
  // sugar(surrogate=<this row>, region=negative) in one pass.
  std::function<Tensor(const Tensor& x, const Tensor& dy, const ParamValues& p)> backward_relu_positive;
  // Optional: dx = dy * f'(x; p) computed from the output y = f(x) instead of x, for rows whose
  // derivative y determines (ReLU: dy where y > 0). The op then saves y, which the next layer keeps
  // anyway, instead of x, so x is freed after the forward pass: one activation-sized tensor less per
  // site during training.
  std::function<Tensor(const Tensor& y, const Tensor& dy, const ParamValues& p)> backward_from_output;
  // Optional: the oneDNN eltwise that computes `forward` exactly (rows built by onednn_kernels).
  // Evaluation uses it to fuse the activation into the convolution before it (nn/fused_inference.hpp).
  ChooseEltwise onednn_forward = nullptr;

  bool complete() const { return forward && backward && backward_relu_positive; }
};

// Where the random numbers of a random row (rrelu in training) come from: element i of one call
// (row-major logical index, so the draw does not depend on the layout) uses
// stream.uniform(first_counter + i). The caller advances first_counter between calls (e.g. by the
// element count) so that every step draws fresh numbers; the default gives the same draws each call.
struct RandomSource {
  RandomStream stream{0, "activation"};
  uint64_t first_counter = 0;
};

// The whole op for rows that are not one element-wise pair (random, combinator, module): computes
// y and records its backward on the autograd tape (see apply.hpp).
using ApplyFn =
    std::function<Tensor(const ActivationSpec& spec, const Tensor& x, bool training, const RandomSource& random)>;

// The oneDNN eltwise that computes the forward of `spec` (of this row) exactly in this mode, if there is
// one: how a combinator row runs inside a fused inference convolution (sugar: its `forward` row's).
using FusedForwardFn = std::function<std::optional<EltwiseAlgorithm>(const ActivationSpec& spec, bool training)>;

// Checks across parameters that single ranges cannot express (rrelu: lower <= upper); throws
// sugar::Error (usage) naming the row and the values.
using ValidateFn = std::function<void(const ActivationSpec& spec)>;

struct ActivationRow {
  std::string name;
  std::vector<std::string> aliases;
  // One line for `activations list`: the formula, and where a default was a choice, why.
  std::string doc;
  ActivationKind kind = ActivationKind::elementwise;
  std::vector<ActivationParam> params;
  bool learnable = false;  // has parameters the optimizer trains (module rows)

  // The scalar pair (elementwise rows: required; random rows: their evaluation-mode function).
  ScalarFn forward = nullptr;
  ScalarFn derivative = nullptr;
  // Tensor kernels; when left empty for an elementwise row, registration builds them from the
  // scalar pair with the generic loop (correct, not vectorised: the pair is called through pointers).
  ActivationKernels kernels;
  ApplyFn apply;          // random, combinator and module rows
  ValidateFn validate;    // optional
  // Combinator rows: their eltwise for fused inference (activations::inference_eltwise); empty: none.
  // Element-wise and random rows say it with kernels.onednn_forward instead.
  FusedForwardFn fused_forward;

  // Index of the parameter called `name`, or -1.
  int param_index(std::string_view param_name) const;
};

}  // namespace sugar::activations
