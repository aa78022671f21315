#include "sugar/nn/conv2d.hpp"

#include "sugar/nn/direct_flops.hpp"

#include "sugar/error.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/nn/init.hpp"

namespace sugar::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride, int64_t padding,
               int64_t dilation, int64_t groups, bool bias)
    : Conv2d(in_channels, out_channels, ops::Dims2{kernel_size, kernel_size},
             ops::Conv2dOptions{{stride, stride}, {padding, padding}, {dilation, dilation}, groups, std::nullopt},
             bias) {}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, ops::Dims2 kernel_size, const ops::Conv2dOptions& options,
               bool bias)
    : in_channels_(in_channels), out_channels_(out_channels), options_(options) {
  SUGAR_CHECK(in_channels > 0 && out_channels > 0, "Conv2d: channel counts must be positive, got in_channels ",
              in_channels, ", out_channels ", out_channels);
  SUGAR_CHECK(options.groups > 0 && in_channels % options.groups == 0 && out_channels % options.groups == 0,
              "Conv2d: groups ", options.groups, " must be positive and divide in_channels ", in_channels,
              " and out_channels ", out_channels);
  for (int axis = 0; axis < 2; ++axis) {
    SUGAR_CHECK(kernel_size[axis] > 0, "Conv2d: kernel_size must be positive, got [", kernel_size[0], ", ",
                kernel_size[1], "]");
    SUGAR_CHECK(options.stride[axis] > 0, "Conv2d: stride must be positive, got [", options.stride[0], ", ",
                options.stride[1], "]");
    SUGAR_CHECK(options.padding[axis] >= 0, "Conv2d: padding must be >= 0, got [", options.padding[0], ", ",
                options.padding[1], "]");
    SUGAR_CHECK(options.dilation[axis] >= 1, "Conv2d: dilation must be >= 1, got [", options.dilation[0], ", ",
                options.dilation[1], "]");
  }
  weight_ = register_parameter(
      "weight", Tensor::zeros({out_channels, in_channels / options.groups, kernel_size[0], kernel_size[1]}));
  if (bias) bias_ = register_parameter("bias", Tensor::zeros({out_channels}));
}

void Conv2d::reset_parameters(uint64_t seed) {
  switch (init_) {
    case init::ConvInit::torchvision:
    case init::ConvInit::torchvision_mobilenet:
      init::kaiming_normal_fan_out_relu_(weight_, init::init_stream(weight_, seed));
      if (bias_.defined()) init::constant_(bias_, 0.0f);
      return;
    case init::ConvInit::pytorch_default:
      init::kaiming_uniform_default_(weight_, init::init_stream(weight_, seed));
      if (bias_.defined()) init::uniform_default_bias_(bias_, weight_, init::init_stream(bias_, seed));
      return;
    case init::ConvInit::trunc_normal:
      init::trunc_normal_(weight_, 0.0, 0.02, -2.0, 2.0, init::init_stream(weight_, seed));
      if (bias_.defined()) init::constant_(bias_, 0.0f);
      return;
  }
}

void Conv2d::check_input(const Tensor& x) const {
  SUGAR_CHECK(is_initialized(), display_name(),
              ": parameters are not initialised; call sugar::nn::initialize(model, seed) once the model is built");
  SUGAR_CHECK(x.ndim() == 4 && x.dim(1) == in_channels_, display_name(), ": expected input [N, ", in_channels_,
              ", H, W], got ", to_string(x.shape()));
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input(x);
  Tensor y = ops::conv2d(x, weight_, bias_, options_, &state_);
  last_call_ = LayerCall{y.dim(0) * y.dim(2) * y.dim(3), x.requires_grad()};
  return y;
}

namespace {

bool still_valid(const FoldedConv& folded) {
  if (!folded.weight.defined()) return false;
  for (size_t i = 0; i < folded.sources.size(); ++i) {
    const std::shared_ptr<Storage> source = folded.sources[i].lock();
    if (!source || source->version() != folded.versions[i]) return false;
  }
  return true;
}

}  // namespace

Tensor Conv2d::forward_fused(const Tensor& x, const BatchNorm2d* bn, const std::optional<ops::EltwiseOp>& activation) {
  check_input(x);
  if (folded_bn_ != bn || !still_valid(folded_)) {
    folded_ = fold_batch_norm(*this, bn);
    folded_bn_ = bn;
  }
  ops::Conv2dFusion fusion;
  fusion.activation = activation;
  fusion.layer_has_bias = bias_.defined();
  Tensor y = ops::conv2d_inference(x, folded_.weight, folded_.bias, fusion, options_, &state_);
  last_call_ = LayerCall{y.dim(0) * y.dim(2) * y.dim(3), x.requires_grad()};
  return y;
}

void Conv2d::count_flops(DirectFlops& totals) const { add_layer_flops(totals, *this, last_call_, weight_.numel()); }

}  // namespace sugar::nn
