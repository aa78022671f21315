// The convolution's geometry and cached oneDNN primitives (see conv2d_primitives.hpp).
//
// Layouts: the primitives are created with format_tag::any for src, weights and dst, so oneDNN picks
// its fastest layout (nChw16c activations on AVX-512) for each algorithm.
#include "conv2d_primitives.hpp"

#include "sugar/error.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops::conv_detail {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using data_type = memory::data_type;
using format_tag = memory::format_tag;

std::string pair_string(const Dims2& d) { return "(" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + ")"; }

algorithm dnnl_algorithm(const ConvGeometry& g) {
  return g.algorithm == ConvAlgorithm::winograd ? algorithm::convolution_winograd : algorithm::convolution_direct;
}

CacheKey geometry_key(const char* op, const ConvGeometry& g) {
  CacheKey key(op);
  key << g.src << g.weights << g.dst << static_cast<int64_t>(g.has_bias) << g.strides << g.dilates << g.padding_l
      << g.padding_r << static_cast<int64_t>(g.compute) << conv_algorithm_name(g.algorithm);
  return key;
}

memory::desc any_layout(const Shape& dims, data_type type) { return memory::desc(dims, type, format_tag::any); }

// Bias and its gradient stay f32 (also for bf16 convolutions, which oneDNN supports); an empty
// descriptor tells oneDNN there is no bias.
memory::desc bias_layout(const ConvGeometry& g) {
  return g.has_bias ? memory::desc(g.bias, data_type::f32, format_tag::a) : memory::desc();
}

std::string dims_string(const memory::dims& d, char separator) {
  std::string text;
  for (size_t i = 0; i < d.size(); ++i) text += (i ? std::string(1, separator) : "") + std::to_string(d[i]);
  return text;
}

}  // namespace

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

ConvGeometry with_algorithm(ConvGeometry g, ConvAlgorithm algorithm) {
  g.algorithm = algorithm;
  return g;
}

std::string layer_key(const ConvGeometry& g) {
  const memory::dims in{g.src[1], g.src[2], g.src[3]}, out{g.dst[1], g.dst[2], g.dst[3]};
  const memory::dims kernel{g.weights[g.weights.size() - 2], g.weights[g.weights.size() - 1]};
  const memory::dims dilation{g.dilates[0] + 1, g.dilates[1] + 1};
  return std::string(dtype_name(from_dnnl(g.compute))) + " " + dims_string(in, 'x') + "->" + dims_string(out, 'x') +
         " k" + dims_string(kernel, 'x') + " s" + dims_string(g.strides, 'x') + " p" + dims_string(g.padding_l, 'x') +
         " d" + dims_string(dilation, 'x') + " g" + std::to_string(g.groups) + (g.has_bias ? " bias" : " nobias");
}

std::string winograd_unsuitable_reason(const ConvGeometry& g) {
  const size_t n = g.weights.size();
  if (g.compute != data_type::f32) return std::string(dtype_name(from_dnnl(g.compute))) + " (Winograd is f32 only)";
  if (g.weights[n - 2] != 3 || g.weights[n - 1] != 3)
    return "kernel " + std::to_string(g.weights[n - 2]) + "x" + std::to_string(g.weights[n - 1]) +
           " (Winograd needs 3x3)";
  if (g.strides[0] != 1 || g.strides[1] != 1) return "stride " + dims_string(g.strides, 'x') + " (Winograd needs 1)";
  if (g.dilates[0] != 0 || g.dilates[1] != 0) return "dilated kernel (Winograd needs a dense one)";
  if (g.groups != 1) return "groups " + std::to_string(g.groups) + " (Winograd needs 1)";
  return "";
}

const CachedPrimitive<ForwardPd>& forward_training_primitive(const ConvGeometry& g) {
  return cached_primitive<ForwardPd>(geometry_key("conv2d_forward_training", g), [&] {
    const dnnl::convolution_forward::desc desc(prop_kind::forward_training, dnnl_algorithm(g),
                                               any_layout(g.src, g.compute), any_layout(g.weights, g.compute),
                                               bias_layout(g), any_layout(g.dst, g.compute), g.strides, g.dilates,
                                               g.padding_l, g.padding_r);
    return ForwardPd(desc, user_scratchpad_attr(), cpu_engine());
  });
}

// Left to format_tag::any, oneDNN 2.6 picks nhwc for some inference convolutions and nChw16c for
// others, so a network in eval mode would reorder between layers (and differ from what it does in
// training); pinning the training forward's activation layouts keeps one layout in both modes.
// Winograd's inference kernel takes its weights already transformed (its own "wino" format, which the
// weight reorder produces) and refuses the training layout, so its weights stay format_tag::any.
const CachedPrimitive<ForwardPd>& forward_inference_primitive(const ConvGeometry& g,
                                                              const std::optional<EltwiseOp>& post) {
  const ForwardPd training = forward_training_primitive(g).pd;
  CacheKey key = geometry_key("conv2d_forward_inference", g);
  if (post) key << "post" << static_cast<int64_t>(post->algorithm) << double{post->alpha} << double{post->beta};
  return cached_primitive<ForwardPd>(key, [&] {
    const memory::desc weights = g.algorithm == ConvAlgorithm::winograd ? any_layout(g.weights, g.compute)
                                                                         : training.weights_desc();
    const dnnl::convolution_forward::desc desc(prop_kind::forward_inference, dnnl_algorithm(g),
                                               training.src_desc(), weights, bias_layout(g),
                                               training.dst_desc(), g.strides, g.dilates, g.padding_l,
                                               g.padding_r);
    dnnl::primitive_attr attr = user_scratchpad_attr();
    if (post) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, post->algorithm, post->alpha, post->beta);
      attr.set_post_ops(ops);
    }
    return ForwardPd(desc, attr, cpu_engine());
  });
}

// The forward primitive descriptor is the hint: it makes oneDNN pick backward layouts that match
// the forward's, so gradients need no extra reorders.
const CachedPrimitive<BackwardDataPd>& backward_data_primitive(const ConvGeometry& g) {
  const ForwardPd hint = forward_training_primitive(g).pd;
  return cached_primitive<BackwardDataPd>(geometry_key("conv2d_backward_data", g), [&] {
    const dnnl::convolution_backward_data::desc desc(dnnl_algorithm(g), any_layout(g.src, g.compute),
                                                     any_layout(g.weights, g.compute),
                                                     any_layout(g.dst, g.compute), g.strides, g.dilates,
                                                     g.padding_l, g.padding_r);
    return BackwardDataPd(desc, user_scratchpad_attr(), cpu_engine(), hint);
  });
}

// Weight gradients are f32 whatever the compute type: they update f32 master weights.
const CachedPrimitive<BackwardWeightsPd>& backward_weights_primitive(const ConvGeometry& g) {
  const ForwardPd hint = forward_training_primitive(g).pd;
  return cached_primitive<BackwardWeightsPd>(geometry_key("conv2d_backward_weights", g), [&] {
    const dnnl::convolution_backward_weights::desc desc(
        dnnl_algorithm(g), any_layout(g.src, g.compute), any_layout(g.weights, data_type::f32),
        bias_layout(g), any_layout(g.dst, g.compute), g.strides, g.dilates, g.padding_l, g.padding_r);
    return BackwardWeightsPd(desc, user_scratchpad_attr(), cpu_engine(), hint);
  });
}

Tensor weight_in_layout(const Tensor& weight, const ConvGeometry& g, const memory::desc& layout) {
  const Tensor plain = weight.is_plain() ? weight : weight.to_plain();
  return plain.reshape(g.weights).to_desc(layout);
}

}  // namespace sugar::ops::conv_detail
