// Fully connected layer on oneDNN inner-product primitives: forward (training or inference),
// backward-data and backward-weights side by side. Shape letters: N batch, I input features,
// O output features.
//
// Layouts are plain throughout: the classifier's tensors are tiny, so oneDNN's blocked layouts would
// buy nothing and cost reorders. weight is PyTorch's [O, I] (oneDNN's "oi" = plain "ab").
#include "sugar/ops/linear.hpp"

#include <unordered_map>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {
namespace {

using dnnl::prop_kind;
using data_type = memory::data_type;
using format_tag = memory::format_tag;

using ForwardPd = dnnl::inner_product_forward::primitive_desc;
using BackwardDataPd = dnnl::inner_product_backward_data::primitive_desc;
using BackwardWeightsPd = dnnl::inner_product_backward_weights::primitive_desc;

struct LinearGeometry {
  int64_t N = 0, I = 0, O = 0;
  data_type compute = data_type::f32;  // of x, weight and y: x's data type
  bool has_bias = false;

  memory::desc src() const { return memory::desc({N, I}, compute, format_tag::ab); }
  memory::desc weights(data_type type) const { return memory::desc({O, I}, type, format_tag::ab); }
  memory::desc dst() const { return memory::desc({N, O}, compute, format_tag::ab); }
  // Bias and its gradient stay f32 (oneDNN supports that for bf16 too); empty = no bias.
  memory::desc bias() const { return has_bias ? memory::desc({O}, data_type::f32, format_tag::a) : memory::desc(); }
};

LinearGeometry describe_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SUGAR_CHECK(x.defined(), "linear: the input is undefined");
  SUGAR_CHECK(weight.defined(), "linear: the weight is undefined");
  const std::string shapes = " (input " + to_string(x.shape()) + ", weight " + to_string(weight.shape()) + ")";
  SUGAR_CHECK(x.ndim() == 2, "linear: input must be 2-d [N, I] (flatten it first), got ", to_string(x.shape()));
  SUGAR_CHECK(weight.ndim() == 2, "linear: weight must be 2-d [O, I], got ", to_string(weight.shape()));
  SUGAR_CHECK(x.dim(1) == weight.dim(1), "linear: input has ", x.dim(1), " features but weight expects ",
              weight.dim(1), shapes);
  if (bias.defined())
    SUGAR_CHECK(bias.ndim() == 1 && bias.dim(0) == weight.dim(0), "linear: bias must have shape [", weight.dim(0),
                "] (one value per output feature), got ", to_string(bias.shape()), shapes);
  LinearGeometry g;
  g.N = x.dim(0);
  g.I = x.dim(1);
  g.O = weight.dim(0);
  g.compute = to_dnnl(x.dtype());
  g.has_bias = bias.defined();
  return g;
}

CacheKey geometry_key(const char* op, const LinearGeometry& g) {
  CacheKey key(op);
  key << g.N << g.I << g.O << static_cast<int64_t>(g.compute) << static_cast<int64_t>(g.has_bias);
  return key;
}

const CachedPrimitive<ForwardPd>& forward_primitive(const LinearGeometry& g, prop_kind prop) {
  const char* op = prop == prop_kind::forward_training ? "linear_forward_training" : "linear_forward_inference";
  return cached_primitive<ForwardPd>(geometry_key(op, g), [&] {
    return ForwardPd(dnnl::inner_product_forward::desc(prop, g.src(), g.weights(g.compute), g.bias(), g.dst()),
                     user_scratchpad_attr(), cpu_engine());
  });
}

const CachedPrimitive<BackwardDataPd>& backward_data_primitive(const LinearGeometry& g, const ForwardPd& hint) {
  return cached_primitive<BackwardDataPd>(geometry_key("linear_backward_data", g), [&] {
    return BackwardDataPd(dnnl::inner_product_backward_data::desc(g.src(), g.weights(g.compute), g.dst()),
                          user_scratchpad_attr(), cpu_engine(), hint);
  });
}

// Weight gradients are f32 whatever the compute type: they update f32 master weights.
const CachedPrimitive<BackwardWeightsPd>& backward_weights_primitive(const LinearGeometry& g, const ForwardPd& hint) {
  return cached_primitive<BackwardWeightsPd>(geometry_key("linear_backward_weights", g), [&] {
    return BackwardWeightsPd(
        dnnl::inner_product_backward_weights::desc(g.src(), g.weights(data_type::f32), g.bias(), g.dst()),
        user_scratchpad_attr(), cpu_engine(), hint);
  });
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  profiler::Scope scope(profiler::OpKind::linear);  // its backward too
  const LinearGeometry g = describe_linear(x, weight, bias);
  const bool training = autograd::needs_grad({x, weight, bias});
  const auto& fwd = forward_primitive(g, training ? prop_kind::forward_training : prop_kind::forward_inference);

  const Tensor src = x.to_desc(g.src());
  const Tensor weights = weight.to_desc(g.weights(g.compute));
  Tensor y = Tensor::from_desc(g.dst());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                       {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                       {DNNL_ARG_DST, y.memory_handle()}};
  Tensor bias_f32;
  if (g.has_bias) {
    bias_f32 = bias.to_desc(g.bias());
    args[DNNL_ARG_BIAS] = bias_f32.memory_handle();
  }
  execute_primitive(fwd.primitive, args);
  if (!training) return y;

  const bool wants_input_grad = x.requires_grad();
  const bool wants_weight_grad = weight.requires_grad() || (bias.defined() && bias.requires_grad());
  autograd::record(
      "linear", {x, weight, bias}, {y},
      [g, forward = fwd.pd, x_grad = autograd::grad_target(x), weight_grad = autograd::grad_target(weight),
       bias_grad = autograd::grad_target(bias), saved_weights = wants_input_grad ? weights : Tensor(),
       saved_src = wants_weight_grad ? src : Tensor()](const std::vector<Tensor>& grads) {
        const Tensor grad_y = grads[0].to_desc(g.dst());
        if (saved_weights.defined()) {
          // dL/dx = dL/dy * weight, plain; accumulate_grad reorders it to x's layout.
          const auto& bwd = backward_data_primitive(g, forward);
          Tensor diff_src = Tensor::from_desc(g.src());
          execute_primitive(bwd.primitive, {{DNNL_ARG_DIFF_DST, grad_y.memory_handle()},
                                            {DNNL_ARG_WEIGHTS, saved_weights.memory_handle()},
                                            {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}});
          autograd::accumulate_grad(x_grad, diff_src);
        }
        if (saved_src.defined()) {
          // dL/dweight = dL/dy^T * x and dL/dbias = column sums of dL/dy.
          const auto& bwd = backward_weights_primitive(g, forward);
          Tensor diff_weights = Tensor::from_desc(g.weights(data_type::f32));
          std::unordered_map<int, memory> bwd_args{{DNNL_ARG_SRC, saved_src.memory_handle()},
                                                   {DNNL_ARG_DIFF_DST, grad_y.memory_handle()},
                                                   {DNNL_ARG_DIFF_WEIGHTS, diff_weights.memory_handle()}};
          Tensor diff_bias;
          if (g.has_bias) {
            diff_bias = Tensor::from_desc(g.bias());
            bwd_args[DNNL_ARG_DIFF_BIAS] = diff_bias.memory_handle();
          }
          execute_primitive(bwd.primitive, bwd_args);
          autograd::accumulate_grad(weight_grad, diff_weights);
          if (g.has_bias) autograd::accumulate_grad(bias_grad, diff_bias);
        }
      });
  return y;
}

}  // namespace sugar::ops
