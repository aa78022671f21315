#pragma once
// One generic numerical-gradient check for every op (the dlib idea): the analytic gradient that
// autograd produces for the scalar L = sum_i r_i * y_i (fixed pseudo-random r, so per-element errors
// cannot cancel) is compared with central finite differences of L, accumulated in double:
//   dL/dx_j ~ (L(x + h e_j) - L(x - h e_j)) / (2h).
// The forward runs in f32, so the finite difference carries an error of about eps_f32 * |L| / h;
// the defaults (h = 1e-2, |diff| <= atol + rtol * |numeric|, atol 2e-3, rtol 2e-2) cover that with
// margin for the sizes used in the tests (a few hundred outputs). Inputs keep their layout: a
// blocked input is perturbed through its plain values and reordered back.
#include <functional>
#include <string>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::testkit {

struct GradcheckOptions {
  double step = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-2;
  uint64_t seed = 7;
};

using OpUnderTest = std::function<Tensor(const std::vector<Tensor>& inputs)>;

// The weights r of L = sum_i r_i * y_i for an output of `shape`: pseudo-random in [0.5, 1.5) (no
// cancellation between elements), deterministic in `seed`; and L itself, summed in double.
std::vector<float> loss_weights(const Shape& shape, uint64_t seed);
double weighted_sum(const Tensor& y, const std::vector<float>& r);

// Checks the gradient of every input that requires grad. Reports each mismatch (input, element,
// analytic, numeric) through GoogleTest and returns the number of mismatches.
int check_gradients(const OpUnderTest& op, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// A tensor of shape `shape` with values uniform in [lo, hi), deterministic in `seed`, in `layout`
// (plain if not given), marked requires_grad when asked.
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f, bool requires_grad = false);
Tensor random_tensor_in(const memory::desc& layout, uint64_t seed, float lo = -1.f, float hi = 1.f,
                        bool requires_grad = false);

// The nChw16c layout of a 4-d shape (what oneDNN picks for fp32 convolutions on AVX-512).
memory::desc blocked16(const Shape& shape);

// True when every padding lane of t's storage is zero (checked by a round trip through the plain
// layout, which writes zeros into the padding, and a byte comparison).
bool padding_is_zero(const Tensor& t);

}  // namespace sugar::testkit
