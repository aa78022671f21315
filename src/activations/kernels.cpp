#include "sugar/activations/kernels.hpp"

namespace sugar::activations {

ActivationKernels scalar_kernels(ScalarFn forward, ScalarFn derivative) {
  ActivationKernels kernels;
  kernels.forward = [forward](const Tensor& x, const ParamValues& p) {
    return ops::map_elements(x, [forward, p](float v) { return forward(v, p.data()); });
  };
  kernels.backward = [derivative](const Tensor& x, const Tensor& dy, const ParamValues& p) {
    return ops::zip_elements(x, dy, [derivative, p](float v, float g) { return g * derivative(v, p.data()); });
  };
  kernels.backward_relu_positive = [derivative](const Tensor& x, const Tensor& dy, const ParamValues& p) {
    return ops::zip_elements(x, dy,
                             [derivative, p](float v, float g) { return v > 0.0f ? g : g * derivative(v, p.data()); });
  };
  return kernels;
}

}  // namespace sugar::activations
