// The built-in activation table: one row per activation. Adding an activation = one enum entry in
// builtin.hpp, one name below, one scalar struct in scalar_functions.hpp, one row here, its tests.
#include <iterator>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/builtin.hpp"
#include "sugar/activations/kernels.hpp"
#include "sugar/activations/scalar_functions.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/relu.hpp"

namespace sugar::activations {

namespace {

constexpr std::string_view kBuiltinNames[] = {
    "relu",      "leaky_relu", "rrelu", "elu",  "selu", "relu6", "sigmoid", "tanh",  "hardsigmoid",
    "softplus",  "silu",       "hardswish", "mish", "gelu", "bsilu", "nelu", "sugar",
};
static_assert(std::size(kBuiltinNames) == static_cast<size_t>(Builtin::count),
              "every built-in activation needs its name in kBuiltinNames");

using dnnl::algorithm;
namespace s = scalar;

using P = ActivationParam;

template <class Scalar>
ActivationRow loop_row(std::string name, std::string doc, std::vector<ActivationParam> params = {}) {
  ActivationRow row;
  row.name = std::move(name);
  row.doc = std::move(doc);
  row.params = std::move(params);
  row.forward = &Scalar::f;
  row.derivative = &Scalar::df;
  row.kernels = loop_kernels<&Scalar::f, &Scalar::df>();
  return row;
}

template <class Scalar, ChooseEltwise Choose>
ActivationRow onednn_row(std::string name, std::string doc, std::vector<ActivationParam> params = {}) {
  ActivationRow row = loop_row<Scalar>(std::move(name), std::move(doc), std::move(params));
  row.kernels = onednn_kernels<&Scalar::f, &Scalar::df, Choose>();
  return row;
}

// oneDNN algorithms for the rows it computes exactly as defined (kinks included, see the tests).
EltwiseAlgorithm relu_algorithm(const ParamValues&) { return {algorithm::eltwise_relu, 0.0f, 0.0f}; }
EltwiseAlgorithm leaky_relu_algorithm(const ParamValues& p) { return {algorithm::eltwise_relu, p[0], 0.0f}; }
EltwiseAlgorithm rrelu_eval_algorithm(const ParamValues& p) {
  return {algorithm::eltwise_relu, s::RReluEval::slope(p.data()), 0.0f};
}
EltwiseAlgorithm elu_algorithm(const ParamValues& p) { return {algorithm::eltwise_elu, p[0], 0.0f}; }
// clip_v2's backward is 0 at both bounds, as PyTorch's hardtanh (clip's is 1 at the upper bound).
EltwiseAlgorithm relu6_algorithm(const ParamValues&) { return {algorithm::eltwise_clip_v2, 0.0f, 6.0f}; }
EltwiseAlgorithm sigmoid_algorithm(const ParamValues&) { return {algorithm::eltwise_logistic, 0.0f, 0.0f}; }
EltwiseAlgorithm tanh_algorithm(const ParamValues&) { return {algorithm::eltwise_tanh, 0.0f, 0.0f}; }
EltwiseAlgorithm silu_algorithm(const ParamValues& p) { return {algorithm::eltwise_swish, p[0], 0.0f}; }
EltwiseAlgorithm mish_algorithm(const ParamValues&) { return {algorithm::eltwise_mish, 0.0f, 0.0f}; }
EltwiseAlgorithm gelu_algorithm(const ParamValues& p) {
  return {p[0] != 0.0f ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf, 0.0f, 0.0f};
}

void check_rrelu_bounds(const ActivationSpec& spec) {
  const double lower = spec.number("lower");
  const double upper = spec.number("upper");
  if (lower > upper)
    throw Error("rrelu: lower=" + format_number(lower) + " must not exceed upper=" + format_number(upper),
                ErrorKind::usage);
}

}  // namespace

std::string_view builtin_name(Builtin id) {
  const auto index = static_cast<size_t>(id);
  SUGAR_CHECK(index < std::size(kBuiltinNames), "activations: no built-in activation with index ", index);
  return kBuiltinNames[index];
}

std::vector<ActivationRow> builtin_activation_rows() {
  // Not used by oneDNN: selu (no such algorithm), hardsigmoid (none in 2.6), softplus (2.6's soft_relu
  // has neither beta nor threshold), hardswish (2.6's backward at -3 and 3 differs from PyTorch's),
  // bsilu and nelu.
  std::vector<ActivationRow> rows;
  rows.push_back(onednn_row<s::Relu, relu_algorithm>("relu", "max(x, 0); gradient 0 for x <= 0"));
  rows.back().kernels.backward_from_output = [](const Tensor& y, const Tensor& dy, const ParamValues&) {
    return ops::relu_backward(y, dy);
  };
  rows.push_back(onednn_row<s::LeakyRelu, leaky_relu_algorithm>(
      "leaky_relu", "x for x > 0, negative_slope * x otherwise (gradient negative_slope at 0)",
      {P::number("negative_slope", 0.01, "slope for x <= 0")}));

  ActivationRow rrelu = onednn_row<s::RReluEval, rrelu_eval_algorithm>(
      "rrelu",
      "randomized leaky ReLU: in training each element's slope for x <= 0 is drawn uniformly from "
      "[lower, upper); in evaluation the slope is (lower + upper) / 2",
      {P::number("lower", 1.0 / 8.0, "smallest slope").at_least(0).at_most(1),
       P::number("upper", 1.0 / 3.0, "largest slope").at_least(0).at_most(1)});
  rrelu.kind = ActivationKind::random;
  rrelu.apply = apply_rrelu;
  rrelu.validate = check_rrelu_bounds;
  rows.push_back(std::move(rrelu));

  rows.push_back(onednn_row<s::Elu, elu_algorithm>("elu", "x for x > 0, alpha * (exp(x) - 1) otherwise",
                                                   {P::number("alpha", 1.0, "saturation value -alpha")}));
  rows.push_back(loop_row<s::Selu>(
      "selu", "scale * elu(x, alpha) with alpha = 1.6732632423543772, scale = 1.0507009873554805"));
  rows.push_back(onednn_row<s::Relu6, relu6_algorithm>("relu6", "min(max(x, 0), 6); gradient 0 at 0 and 6"));
  rows.push_back(onednn_row<s::Sigmoid, sigmoid_algorithm>("sigmoid", "1 / (1 + exp(-x))"));
  rows.push_back(onednn_row<s::Tanh, tanh_algorithm>("tanh", "tanh(x)"));
  rows.push_back(loop_row<s::HardSigmoid>("hardsigmoid", "relu6(x + 3) / 6; gradient 0 at -3 and 3"));
  rows.push_back(loop_row<s::Softplus>(
      "softplus", "log(1 + exp(beta * x)) / beta, and x where beta * x > threshold",
      {P::number("beta", 1.0, "sharpness").greater_than(0),
       P::number("threshold", 20.0, "above beta * x > threshold the function is x").greater_than(0)}));

  ActivationRow silu = onednn_row<s::Silu, silu_algorithm>("silu", "x * sigmoid(beta * x) (swish)",
                                                           {P::number("beta", 1.0, "sharpness")});
  silu.aliases = {"swish"};
  rows.push_back(std::move(silu));

  rows.push_back(loop_row<s::HardSwish>(
      "hardswish", "x * relu6(x + 3) / 6; gradient 0 below -3, x/3 + 1/2 on [-3, 3], 1 above (PyTorch)"));
  rows.push_back(onednn_row<s::Mish, mish_algorithm>("mish", "x * tanh(softplus(x))"));
  rows.push_back(onednn_row<s::Gelu, gelu_algorithm>(
      "gelu", "x * Phi(x) with the Gaussian CDF Phi (approximate=none), or its tanh approximation",
      {P::choice("approximate", {"none", "tanh"}, 0, "none: exact erf; tanh: PyTorch's tanh form")}));
  rows.push_back(loop_row<s::BSilu>(
      "bsilu",
      "B-SiLU (SUGAR paper): (x + alpha) * sigmoid(x) - alpha / 2; gradient sigmoid(x) + (x + alpha) * "
      "sigmoid(x) * (1 - sigmoid(x))",
      {P::number("alpha", 1.67, "offset; 0 gives SiLU")}));
  rows.push_back(loop_row<s::Nelu>(
      "nelu",
      "NeLU: the SUGAR paper defines it by its derivative, 1 for x > 0 and 2 * alpha * x / (1 + x^2)^2 "
      "for x <= 0 (minimum -0.6495 * alpha at x = -1/sqrt(3)); Sugar's forward is the antiderivative "
      "continuous at 0, x for x > 0 and alpha * x^2 / (1 + x^2) for x <= 0, not a formula of the paper "
      "(as a SUGAR surrogate only the derivative is used); default alpha 0.05, Sugar's choice from the "
      "paper's grid {0.01, 0.05, 0.1}",
      {P::number("alpha", 0.05, "depth of the negative gradient").at_least(0)}));

  ActivationRow sugar;
  sugar.name = "sugar";
  sugar.kind = ActivationKind::combinator;
  sugar.doc =
      "SUGAR: forward exactly `forward` (ReLU); backward dy * g'(x) of the surrogate g, for every x "
      "(region=all, the paper's forward gradient injection) or only for x <= 0 with the forward's own "
      "gradient above (region=negative). Surrogate parameters may be written flat: "
      "sugar(surrogate=nelu, alpha=0.1)";
  sugar.params = {
      P::activation("forward", "relu", true, "the function of the forward pass"),
      P::activation("surrogate", "bsilu", true, "the function whose derivative the backward uses"),
      P::choice("region", {"all", "negative"}, 0, "where the surrogate gradient replaces the forward's"),
  };
  sugar.apply = apply_sugar;
  // The forward pass is exactly the `forward` row's; only the backward differs.
  sugar.fused_forward = [](const ActivationSpec& spec, bool training) {
    return inference_eltwise(spec.nested("forward"), training);
  };
  rows.push_back(std::move(sugar));

  SUGAR_CHECK(rows.size() == static_cast<size_t>(Builtin::count), "activations: ", rows.size(),
              " built-in rows for ", static_cast<int>(Builtin::count), " names");
  for (size_t i = 0; i < rows.size(); ++i)
    SUGAR_CHECK(rows[i].name == kBuiltinNames[i], "activations: built-in row ", i, " is '", rows[i].name,
                "' but the enum says '", kBuiltinNames[i], "'");
  return rows;
}

}  // namespace sugar::activations
