// 2-d convolution on oneDNN primitives: forward (training or inference), backward-data and
// backward-weights side by side. Shape letters: N batch, C input channels, O output channels,
// G groups, H/W input size, KH/KW kernel size, OH/OW output size.
//
// Layouts: the primitives are created with format_tag::any for src, weights and dst, so oneDNN picks
// its fastest layout (nChw16c activations on AVX-512). x is reordered only when its layout differs
// from the one picked, y is returned in the picked layout, and the plain PyTorch weight [O, C/G, KH,
// KW] is reordered into the picked weight layout on each call (a cached reorder primitive).
#include "sugar/ops/conv2d.hpp"

#include <unordered_map>
#include <utility>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using data_type = memory::data_type;
using format_tag = memory::format_tag;

using ForwardPd = dnnl::convolution_forward::primitive_desc;
using BackwardDataPd = dnnl::convolution_backward_data::primitive_desc;
using BackwardWeightsPd = dnnl::convolution_backward_weights::primitive_desc;

// Everything that determines the convolution primitives, in oneDNN's terms.
struct ConvGeometry {
  Shape src;      // [N, C, H, W]
  Shape weights;  // [O, C, KH, KW], or [G, O/G, C/G, KH, KW] when grouped (the same bytes as PyTorch's)
  Shape bias;     // [O]
  Shape dst;      // [N, O, OH, OW]
  memory::dims strides, dilates, padding_l, padding_r;  // dilates = PyTorch dilation - 1
  data_type compute = data_type::f32;                   // of src, weights and dst: x's data type
  bool has_bias = false;
  int64_t groups = 1;
};

std::string pair_string(const Dims2& d) { return "(" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + ")"; }

// Validates the arguments (so oneDNN never sees an inconsistent convolution) and derives the geometry.
ConvGeometry describe_convolution(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Conv2dOptions& options) {
  SUGAR_CHECK(x.defined(), "conv2d: the input is undefined");
  SUGAR_CHECK(weight.defined(), "conv2d: the weight is undefined");
  const std::string shapes = " (input " + to_string(x.shape()) + ", weight " + to_string(weight.shape()) + ")";
  SUGAR_CHECK(x.ndim() == 4, "conv2d: input must be 4-d [N, C, H, W], got ", to_string(x.shape()));
  SUGAR_CHECK(weight.ndim() == 4, "conv2d: weight must be 4-d [O, C/groups, KH, KW], got ",
              to_string(weight.shape()));
  const int64_t groups = options.groups;
  SUGAR_CHECK(groups >= 1, "conv2d: groups must be at least 1, got ", groups, shapes);
  for (int i = 0; i < 2; ++i) {
    SUGAR_CHECK(options.stride[i] >= 1, "conv2d: stride must be at least 1, got ", pair_string(options.stride));
    SUGAR_CHECK(options.padding[i] >= 0, "conv2d: padding must not be negative, got ",
                pair_string(options.padding));
    SUGAR_CHECK(options.dilation[i] >= 1, "conv2d: dilation must be at least 1 (1 = dense kernel), got ",
                pair_string(options.dilation));
  }

  const int64_t N = x.dim(0), C = x.dim(1), O = weight.dim(0), C_per_group = weight.dim(1);
  SUGAR_CHECK(O % groups == 0, "conv2d: weight has ", O, " output channels, not divisible by groups ", groups,
              shapes);
  if (groups == 1) {
    SUGAR_CHECK(C == C_per_group, "conv2d: input has ", C, " channels but weight expects ", C_per_group, shapes);
  } else {
    SUGAR_CHECK(C == C_per_group * groups, "conv2d: input has ", C, " channels but weight expects ",
                C_per_group * groups, " (", C_per_group, " per group x ", groups, " groups)", shapes);
  }
  if (bias.defined())
    SUGAR_CHECK(bias.ndim() == 1 && bias.dim(0) == O, "conv2d: bias must have shape [", O,
                "] (one value per output channel), got ", to_string(bias.shape()), shapes);

  ConvGeometry g;
  g.groups = groups;
  g.has_bias = bias.defined();
  g.compute = to_dnnl(x.dtype());
  g.src = x.shape();
  g.bias = {O};
  g.dst = {N, O, 0, 0};
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x.dim(2 + i), kernel = weight.dim(2 + i);
    const int64_t kernel_extent = options.dilation[i] * (kernel - 1) + 1;
    const int64_t padded = in + 2 * options.padding[i];
    SUGAR_CHECK(padded >= kernel_extent, "conv2d: the ", i == 0 ? "height" : "width", " of the input, ", in,
                " padded to ", padded, ", is smaller than the dilated kernel's ", kernel_extent,
                ", so the output would be empty", shapes, " padding ", pair_string(options.padding),
                " dilation ", pair_string(options.dilation));
    g.dst[2 + i] = (padded - kernel_extent) / options.stride[i] + 1;
    g.strides.push_back(options.stride[i]);
    g.dilates.push_back(options.dilation[i] - 1);
    g.padding_l.push_back(options.padding[i]);
    // Symmetric like PyTorch; oneDNN accepts it because it checks the output size with the same
    // floor division.
    g.padding_r.push_back(options.padding[i]);
  }
  const Shape& w = weight.shape();
  g.weights = groups == 1 ? w : Shape{groups, O / groups, w[1], w[2], w[3]};
  return g;
}

// The one place that picks the convolution algorithm. Direct for every layer for now; Winograd
// (convolution_auto) roughly doubles fp32 throughput on stride-1 3x3 layers and belongs here.
algorithm convolution_algorithm(const ConvGeometry&) { return algorithm::convolution_direct; }

CacheKey geometry_key(const char* op, const ConvGeometry& g) {
  CacheKey key(op);
  key << g.src << g.weights << g.dst << static_cast<int64_t>(g.has_bias) << g.strides << g.dilates << g.padding_l
      << g.padding_r << static_cast<int64_t>(g.compute) << static_cast<int64_t>(convolution_algorithm(g));
  return key;
}

memory::desc any_layout(const Shape& dims, data_type type) { return memory::desc(dims, type, format_tag::any); }

// Bias and its gradient stay f32 (also for bf16 convolutions, which oneDNN supports); an empty
// descriptor tells oneDNN there is no bias.
memory::desc bias_layout(const ConvGeometry& g) {
  return g.has_bias ? memory::desc(g.bias, data_type::f32, format_tag::a) : memory::desc();
}

const CachedPrimitive<ForwardPd>& forward_training_primitive(const ConvGeometry& g) {
  return cached_primitive<ForwardPd>(geometry_key("conv2d_forward_training", g), [&] {
    const dnnl::convolution_forward::desc desc(prop_kind::forward_training, convolution_algorithm(g),
                                               any_layout(g.src, g.compute), any_layout(g.weights, g.compute),
                                               bias_layout(g), any_layout(g.dst, g.compute), g.strides, g.dilates,
                                               g.padding_l, g.padding_r);
    return ForwardPd(desc, cpu_engine());
  });
}

// Inference uses the layouts the training forward picked. Left to format_tag::any, oneDNN 2.6 picks
// nhwc for some inference convolutions and nChw16c for others, so a network in eval mode would
// reorder between layers (and differ from what it does in training); pinning the layouts keeps one
// activation layout in both modes.
const CachedPrimitive<ForwardPd>& forward_inference_primitive(const ConvGeometry& g) {
  const ForwardPd training = forward_training_primitive(g).pd;
  return cached_primitive<ForwardPd>(geometry_key("conv2d_forward_inference", g), [&] {
    const dnnl::convolution_forward::desc desc(prop_kind::forward_inference, convolution_algorithm(g),
                                               training.src_desc(), training.weights_desc(), bias_layout(g),
                                               training.dst_desc(), g.strides, g.dilates, g.padding_l,
                                               g.padding_r);
    return ForwardPd(desc, cpu_engine());
  });
}

// The forward primitive descriptor is the hint: it makes oneDNN pick backward layouts that match
// the forward's, so gradients need no extra reorders.
const CachedPrimitive<BackwardDataPd>& backward_data_primitive(const ConvGeometry& g, const ForwardPd& hint) {
  return cached_primitive<BackwardDataPd>(geometry_key("conv2d_backward_data", g), [&] {
    const dnnl::convolution_backward_data::desc desc(convolution_algorithm(g), any_layout(g.src, g.compute),
                                                     any_layout(g.weights, g.compute),
                                                     any_layout(g.dst, g.compute), g.strides, g.dilates,
                                                     g.padding_l, g.padding_r);
    return BackwardDataPd(desc, cpu_engine(), hint);
  });
}

// Weight gradients are f32 whatever the compute type: they update f32 master weights.
const CachedPrimitive<BackwardWeightsPd>& backward_weights_primitive(const ConvGeometry& g, const ForwardPd& hint) {
  return cached_primitive<BackwardWeightsPd>(geometry_key("conv2d_backward_weights", g), [&] {
    const dnnl::convolution_backward_weights::desc desc(
        convolution_algorithm(g), any_layout(g.src, g.compute), any_layout(g.weights, data_type::f32),
        bias_layout(g), any_layout(g.dst, g.compute), g.strides, g.dilates, g.padding_l, g.padding_r);
    return BackwardWeightsPd(desc, cpu_engine(), hint);
  });
}

// PyTorch's plain weight viewed with oneDNN's dims (grouped: [G, O/G, C/G, KH, KW], the same bytes),
// reordered into `layout` (and its data type) unless it already is in it.
Tensor weight_in_layout(const Tensor& weight, const ConvGeometry& g, const memory::desc& layout) {
  const Tensor plain = weight.is_plain() ? weight : weight.to_plain();
  return plain.reshape(g.weights).to_desc(layout);
}

void execute(const dnnl::primitive& primitive, const std::unordered_map<int, memory>& args) {
  primitive.execute(cpu_stream(), args);
  cpu_stream().wait();
}

// dL/dx in the layout backward-data picked (with the forward as hint: the forward's src layout);
// accumulate_grad reorders it to x's layout if that differs.
Tensor convolution_backward_data(const ConvGeometry& g, const ForwardPd& forward, const Tensor& forward_weights,
                                 const Tensor& grad_y) {
  profiler::Scope scope(profiler::OpKind::conv_backward_data);
  const auto& bwd = backward_data_primitive(g, forward);
  const Tensor diff_dst = grad_y.to_desc(bwd.pd.diff_dst_desc());
  const Tensor weights = forward_weights.to_desc(bwd.pd.weights_desc());
  Tensor diff_src = Tensor::from_desc(bwd.pd.diff_src_desc());
  execute(bwd.primitive, {{DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                          {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                          {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}});
  return diff_src;
}

struct WeightGradients {
  Tensor weight;  // plain, PyTorch's [O, C/G, KH, KW], f32
  Tensor bias;    // [O] f32, undefined without bias
};

WeightGradients convolution_backward_weights(const ConvGeometry& g, const ForwardPd& forward,
                                             const Tensor& forward_src, const Tensor& grad_y, const Shape& weight_shape) {
  profiler::Scope scope(profiler::OpKind::conv_backward_weights);
  const auto& bwd = backward_weights_primitive(g, forward);
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
  execute(bwd.primitive, args);
  out.weight = diff_weights.to_plain().reshape(weight_shape);
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  profiler::Scope scope(profiler::OpKind::conv_forward);
  const ConvGeometry g = describe_convolution(x, weight, bias, options);
  const bool training = autograd::needs_grad({x, weight, bias});
  const CachedPrimitive<ForwardPd>* fwd = nullptr;
  try {
    fwd = training ? &forward_training_primitive(g) : &forward_inference_primitive(g);
  } catch (const dnnl::error& e) {
    throw Error(std::string("conv2d: oneDNN cannot create this convolution (") + e.what() + ") for input " +
                describe(x.desc()) + ", weight " + to_string(weight.shape()));
  }

  const Tensor src = x.to_desc(fwd->pd.src_desc());
  const Tensor weights = weight_in_layout(weight, g, fwd->pd.weights_desc());
  Tensor y = Tensor::from_desc(fwd->pd.dst_desc());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                       {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                       {DNNL_ARG_DST, y.memory_handle()}};
  Tensor bias_f32;
  if (g.has_bias) {
    bias_f32 = bias.to_desc(fwd->pd.bias_desc());
    args[DNNL_ARG_BIAS] = bias_f32.memory_handle();
  }
  execute(fwd->primitive, args);
  if (!training) return y;

  // Save only what the needed gradients use: the primitive-layout weights for dL/dx, the
  // primitive-layout input for dL/dweight and dL/dbias.
  const bool wants_input_grad = x.requires_grad();
  const bool wants_weight_grad = weight.requires_grad() || (bias.defined() && bias.requires_grad());
  autograd::record(
      "conv2d", {x, weight, bias}, {y},
      [g, forward = fwd->pd, x, weight, bias, saved_weights = wants_input_grad ? weights : Tensor(),
       saved_src = wants_weight_grad ? src : Tensor()](const std::vector<Tensor>& grads) {
        const Tensor& grad_y = grads[0];
        if (saved_weights.defined())
          autograd::accumulate_grad(x, convolution_backward_data(g, forward, saved_weights, grad_y));
        if (saved_src.defined()) {
          const WeightGradients d = convolution_backward_weights(g, forward, saved_src, grad_y, weight.shape());
          autograd::accumulate_grad(weight, d.weight);
          if (g.has_bias) autograd::accumulate_grad(bias, d.bias);
        }
      });
  return y;
}

}  // namespace sugar::ops
