// 2-d convolution on oneDNN primitives: forward (training or inference), backward-data and
// backward-weights side by side, each with the algorithm choose_algorithms picked for it
// (conv2d_select.cpp). Geometry and primitives: conv2d_primitives.cpp.
//
// Layouts: x is reordered only when its layout differs from the one the forward picked, y is
// returned in the picked layout, and the plain PyTorch weight [O, C/G, KH, KW] is reordered into the
// picked weight layout on each call, or, with a Conv2dState, once per version of the weight.
#include "sugar/ops/conv2d.hpp"

#include <unordered_map>
#include <utility>

#include "conv2d_primitives.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::ops {
namespace {

using namespace conv_detail;

// dL/dx in the layout backward-data picked; accumulate_grad reorders it to x's layout if that differs.
// `weight` is the plain weight, reordered here into backward-data's layout.
Tensor convolution_backward_data(const ConvGeometry& g, const Tensor& weight, const Tensor& grad_y) {
  profiler::Scope scope(profiler::OpKind::conv_backward_data);
  const auto& bwd = backward_data_primitive(g);
  const Tensor diff_dst = grad_y.to_desc(bwd.pd.diff_dst_desc());
  const Tensor weights = weight_in_layout(weight, g, bwd.pd.weights_desc());
  Tensor diff_src = Tensor::from_desc(bwd.pd.diff_src_desc());
  execute_primitive(bwd.primitive, {{DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                    {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                    {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}});
  return diff_src;
}

struct WeightGradients {
  Tensor weight;  // plain, PyTorch's [O, C/G, KH, KW], f32
  Tensor bias;    // [O] f32, undefined without bias
};

WeightGradients convolution_backward_weights(const ConvGeometry& g, const Tensor& forward_src, const Tensor& grad_y,
                                             const Shape& weight_shape) {
  profiler::Scope scope(profiler::OpKind::conv_backward_weights);
  const auto& bwd = backward_weights_primitive(g);
  const Tensor src = forward_src.to_desc(bwd.pd.src_desc());
  const Tensor diff_dst = grad_y.to_desc(bwd.pd.diff_dst_desc());
  Tensor diff_weights = Tensor::from_desc(bwd.pd.diff_weights_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                       {DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                       {DNNL_ARG_DIFF_WEIGHTS, diff_weights.memory_handle()}};
  WeightGradients out;
  if (g.has_bias) {
    out.bias = Tensor::from_desc(bwd.pd.diff_bias_desc());
    args[DNNL_ARG_DIFF_BIAS] = out.bias.memory_handle();
  }
  execute_primitive(bwd.primitive, args);
  out.weight = diff_weights.to_plain().reshape(weight_shape);
  return out;
}

// The weight in `layout`: the state's copy while the weight has not been written since it was made.
// A new version gets a new tensor (never an in-place refresh: a recorded backward may still hold the
// old one).
Tensor forward_weight(const Tensor& weight, const ConvGeometry& g, const memory::desc& layout, Conv2dState* state) {
  if (state == nullptr) return weight_in_layout(weight, g, layout);
  const std::shared_ptr<Storage>& source = weight.storage();
  if (!state->weight_in_layout.defined() || state->weight_source.lock() != source ||
      state->weight_version != weight.version() || state->weight_in_layout.desc() != layout) {
    state->weight_in_layout = weight_in_layout(weight, g, layout);
    state->weight_source = source;
    state->weight_version = weight.version();
  }
  return state->weight_in_layout;
}

// Runs forward primitive `fwd` on x and the weight (the state's copy in the primitive's layout).
Tensor run_forward(const CachedPrimitive<ForwardPd>& fwd, const ConvGeometry& g, const Tensor& x, const Tensor& weight,
                   const Tensor& bias, Conv2dState* state, Tensor* src_used = nullptr) {
  const Tensor src = x.to_desc(fwd.pd.src_desc());
  const Tensor weights = forward_weight(weight, g, fwd.pd.weights_desc(), state);
  Tensor y = Tensor::from_desc(fwd.pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                       {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                       {DNNL_ARG_DST, y.memory_handle()}};
  Tensor bias_f32;
  if (g.has_bias) {
    bias_f32 = bias.to_desc(fwd.pd.bias_desc());
    args[DNNL_ARG_BIAS] = bias_f32.memory_handle();
  }
  execute_primitive(fwd.primitive, args);
  if (src_used != nullptr) *src_used = src;
  return y;
}

[[noreturn]] void rethrow_creation_error(const dnnl::error& e, const Tensor& x, const Tensor& weight) {
  throw Error(std::string("conv2d: oneDNN cannot create this convolution (") + e.what() + ") for input " +
              describe(x.desc()) + ", weight " + to_string(weight.shape()));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
              Conv2dState* state) {
  profiler::Scope scope(profiler::OpKind::conv_forward);
  const ConvGeometry g = describe_convolution(x, weight, bias, options);
  const bool training = autograd::needs_grad({x, weight, bias});
  ConvPassAlgorithms algorithms;
  const CachedPrimitive<ForwardPd>* fwd = nullptr;
  try {
    algorithms = choose_algorithms(g, x, weight, bias, options, state);
    const ConvGeometry forward = with_algorithm(g, algorithms.forward);
    fwd = training ? &forward_training_primitive(forward) : &forward_inference_primitive(forward);
  } catch (const dnnl::error& e) {
    rethrow_creation_error(e, x, weight);
  }
  // Training reorders the weight each call instead of keeping the copy in the state: the optimizer
  // changes the weight every step anyway, and a kept copy would stay alive from one step's forward
  // to the next (ResNet-18: 38 MiB at the peak of every step; the reorder costs ~1% of a step).
  Tensor src;
  Tensor y = run_forward(*fwd, g, x, weight, bias, training ? nullptr : state, &src);
  if (!training) return y;

  // Save only what the needed gradients use: the plain weight (a parameter, alive anyway) for dL/dx,
  // reordered again in the backward; the primitive-layout input for dL/dweight and dL/dbias (as its
  // recipe when it is a batch-norm + activation output: sugar/saved_tensor.hpp).
  const bool wants_input_grad = x.requires_grad();
  const bool wants_weight_grad = weight.requires_grad() || (bias.defined() && bias.requires_grad());
  autograd::record(
      "conv2d", {x, weight, bias}, {y},
      [data_g = with_algorithm(g, algorithms.backward_data), weights_g = with_algorithm(g, algorithms.backward_weights),
       x_grad = autograd::grad_target(x), weight_grad = autograd::grad_target(weight),
       bias_grad = autograd::grad_target(bias), weight_shape = weight.shape(),
       saved_weight = wants_input_grad ? weight : Tensor(), weight_version = weight.version(),
       saved_src = autograd::SavedTensor(wants_weight_grad ? src : Tensor())](const std::vector<Tensor>& grads) {
        const Tensor& grad_y = grads[0];
        if (saved_weight.defined()) {
          // The backward reads the weight itself, so it must still hold the forward's values.
          SUGAR_CHECK(saved_weight.version() == weight_version,
                      "conv2d backward: the weight was written in place after the forward that used it "
                      "(write it after backward, as an optimizer step does)");
          autograd::accumulate_grad(x_grad, convolution_backward_data(data_g, saved_weight, grad_y));
        }
        if (saved_src.defined()) {
          const WeightGradients d = convolution_backward_weights(weights_g, saved_src.get(), grad_y, weight_shape);
          autograd::accumulate_grad(weight_grad, d.weight);
          if (weights_g.has_bias) autograd::accumulate_grad(bias_grad, d.bias);
        }
      });
  return y;
}

Tensor conv2d_inference(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dFusion& fusion,
                        const Conv2dOptions& options, Conv2dState* state) {
  SUGAR_CHECK(!autograd::needs_grad({x, weight, bias}),
              "conv2d_inference: a gradient is needed (grad mode is on and an input requires one); fused "
              "inference records nothing for autograd, so call it under NoGradGuard or use conv2d");
  profiler::Scope scope(profiler::OpKind::conv_forward);
  const ConvGeometry g = describe_convolution(x, weight, bias, options);
  // The layer's own geometry (without a folded bias) decides the algorithm, as in training.
  ConvGeometry layer = g;
  layer.has_bias = fusion.layer_has_bias && bias.defined();
  const CachedPrimitive<ForwardPd>* fwd = nullptr;
  bool activation_fused = false;
  try {
    const ConvPassAlgorithms algorithms =
        choose_algorithms(layer, x, weight, layer.has_bias ? bias : Tensor(), options, state);
    const ConvGeometry forward = with_algorithm(g, algorithms.forward);
    if (fusion.activation) {
      try {
        fwd = &forward_inference_primitive(forward, fusion.activation);
        activation_fused = true;
      } catch (const dnnl::error&) {
        // This implementation has no such post-op: the eltwise runs on its own below.
      }
    }
    if (fwd == nullptr) fwd = &forward_inference_primitive(forward);
  } catch (const dnnl::error& e) {
    rethrow_creation_error(e, x, weight);
  }
  Tensor y = run_forward(*fwd, g, x, weight, bias, state);
  if (fusion.activation && !activation_fused) {
    const EltwiseOp& e = *fusion.activation;
    eltwise_forward_into(e.algorithm, e.alpha, e.beta, y, y, dnnl::prop_kind::forward_inference);
  }
  return y;
}

}  // namespace sugar::ops
