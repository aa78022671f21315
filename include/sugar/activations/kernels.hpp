#pragma once
// Binding a scalar pair to tensors. Three ways, all producing ActivationKernels:
//
//   loop_kernels<F, DF>()               f and f' known at compile time: the generic element-wise
//                                       loop of sugar/ops/eltwise.hpp inlines them (vectorised,
//                                       OpenMP-parallel, any layout, padding lanes kept zero).
//   onednn_kernels<F, DF, Choose>()     forward and backward by a oneDNN eltwise primitive, for
//                                       functions oneDNN computes exactly as defined (checked in the
//                                       tests against the closed form and PyTorch's kink gradients);
//                                       the SUGAR negative-region backward still uses the loop on DF.
//   scalar_kernels(f, df)               run-time function pointers (rows registered by a program):
//                                       the same loop, the pair called through pointers.
#include <oneapi/dnnl/dnnl.hpp>

#include "sugar/activations/activation_row.hpp"
#include "sugar/activations/scalar_functions.hpp"
#include "sugar/ops/eltwise.hpp"

namespace sugar::activations {

template <ScalarFn F, ScalarFn DF>
ActivationKernels loop_kernels() {
  ActivationKernels kernels;
  kernels.forward = [](const Tensor& x, const ParamValues& p) {
    return ops::map_elements(x, [p](float v) { return F(v, p.data()); });
  };
  kernels.backward = [](const Tensor& x, const Tensor& dy, const ParamValues& p) {
    return ops::zip_elements(x, dy, [p](float v, float g) { return g * DF(v, p.data()); });
  };
  kernels.backward_relu_positive = [](const Tensor& x, const Tensor& dy, const ParamValues& p) {
    return ops::zip_elements(x, dy, [p](float v, float g) { return scalar::pick(v > 0.0f, g, g * DF(v, p.data())); });
  };
  return kernels;
}

template <ScalarFn F, ScalarFn DF, ChooseEltwise Choose>
ActivationKernels onednn_kernels() {
  ActivationKernels kernels = loop_kernels<F, DF>();
  kernels.onednn_forward = Choose;
  kernels.forward = [](const Tensor& x, const ParamValues& p) {
    const EltwiseAlgorithm e = Choose(p);
    return ops::eltwise_forward(e.algorithm, e.alpha, e.beta, x);
  };
  kernels.backward = [](const Tensor& x, const Tensor& dy, const ParamValues& p) {
    const EltwiseAlgorithm e = Choose(p);
    return ops::eltwise_backward(e.algorithm, e.alpha, e.beta, x, dy);
  };
  return kernels;
}

ActivationKernels scalar_kernels(ScalarFn forward, ScalarFn derivative);

}  // namespace sugar::activations
