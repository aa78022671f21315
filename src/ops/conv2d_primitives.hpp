#pragma once
// Internal to the convolution (src/ops/conv2d*.cpp): the geometry of a convolution in oneDNN's terms
// and its cached primitives, for the op itself and for the algorithm measurement.
//
// Shape letters: N batch, C input channels, O output channels, G groups, H/W input size, KH/KW
// kernel size, OH/OW output size.
#include <optional>
#include <string>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "sugar/ops/conv2d.hpp"
#include "sugar/ops/eltwise.hpp"
#include "sugar/primitive_cache.hpp"

namespace sugar::ops::conv_detail {

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
  memory::data_type compute = memory::data_type::f32;   // of src, weights and dst: x's data type
  bool has_bias = false;
  int64_t groups = 1;
  ConvAlgorithm algorithm = ConvAlgorithm::direct;  // of the primitives made from this geometry
};

// Validates the arguments (so oneDNN never sees an inconsistent convolution) and derives the
// geometry, with the direct algorithm.
ConvGeometry describe_convolution(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const Conv2dOptions& options);

// The same geometry with another algorithm.
ConvGeometry with_algorithm(ConvGeometry g, ConvAlgorithm algorithm);

// The layer's shape without the batch size: "f32 64x32x32->64x32x32 k3x3 s1x1 p1x1 d1x1 g1 nobias".
std::string layer_key(const ConvGeometry& g);

// Why Winograd cannot run this layer, judged from the geometry alone ("" when it may: oneDNN still
// decides when the primitive is created).
std::string winograd_unsuitable_reason(const ConvGeometry& g);

// The cached primitives. Each throws dnnl::error when oneDNN has no implementation (Winograd on a
// layer it does not support). The backward primitives take the forward primitive of their own
// algorithm as hint, so their layouts match that forward's.
const CachedPrimitive<ForwardPd>& forward_training_primitive(const ConvGeometry& g);
// Inference uses the layouts the training forward of the same algorithm picked. With `post`, the
// primitive applies that eltwise to its output (a oneDNN post-op); throws dnnl::error where the
// implementation cannot.
const CachedPrimitive<ForwardPd>& forward_inference_primitive(const ConvGeometry& g,
                                                              const std::optional<EltwiseOp>& post = std::nullopt);
const CachedPrimitive<BackwardDataPd>& backward_data_primitive(const ConvGeometry& g);
const CachedPrimitive<BackwardWeightsPd>& backward_weights_primitive(const ConvGeometry& g);

// PyTorch's plain weight viewed with oneDNN's dims (grouped: [G, O/G, C/G, KH, KW], the same bytes),
// reordered into `layout` (and its data type) unless it already is in it.
Tensor weight_in_layout(const Tensor& weight, const ConvGeometry& g, const memory::desc& layout);

// Decides the algorithms of each pass for a call of conv2d (conv2d_select.cpp): from state->pinned,
// state->choice, the process's cache of measured choices or a measurement, per options.algorithm.
// A backward pass is measured only when this call will run it (grad mode on, and x, respectively the
// weight or bias, requiring a gradient); a pass not measured stays direct.
ConvPassAlgorithms choose_algorithms(const ConvGeometry& g, const Tensor& x, const Tensor& weight,
                                     const Tensor& bias, const Conv2dOptions& options, Conv2dState* state);

}  // namespace sugar::ops::conv_detail
