#include "sugar/ops/add.hpp"

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/tensor_math.hpp"
#include "sugar/profiler.hpp"

namespace sugar::ops {

Tensor add(const Tensor& a, const Tensor& b) {
  profiler::Scope scope(profiler::OpKind::add);
  Tensor y = add_same_layout(a, b);
  // dy/da = dy/db = 1: both inputs receive the upstream gradient unchanged (and their values are
  // not needed, so they are not kept).
  autograd::record("add", {a, b}, {y},
                   [a_grad = autograd::grad_target(a), b_grad = autograd::grad_target(b)](const std::vector<Tensor>& grads) {
    autograd::accumulate_grad(a_grad, grads[0]);
    autograd::accumulate_grad(b_grad, grads[0]);
  });
  return y;
}

Tensor add_to_each_sample(const Tensor& x, const Tensor& p) {
  profiler::Scope scope(profiler::OpKind::add);
  SUGAR_CHECK(x.defined() && p.defined() && x.ndim() >= 2 && p.ndim() == x.ndim() && p.dim(0) == 1 &&
                  p.dtype() == DType::f32,
              "add_to_each_sample: expected x [N, ...] and an f32 p [1, ...] of the same axes");
  for (int i = 1; i < x.ndim(); ++i)
    SUGAR_CHECK(x.dim(i) == p.dim(i), "add_to_each_sample: p ", to_string(p.shape()), " does not fit x ",
                to_string(x.shape()));
  // Summed in f32 (a bf16 x is widened), returned in x's data type, as a convolution returns its input's.
  const Tensor xs = x.to_plain().to_dtype(DType::f32), ps = p.to_plain();
  Tensor sum = Tensor::from_desc(xs.desc());
  const int64_t batch = x.dim(0), size = p.numel();
  const float* a = xs.data<float>();
  const float* b = ps.data<float>();
  float* out = sum.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < size; ++i) out[n * size + i] = a[n * size + i] + b[i];
  Tensor y = sum.to_dtype(x.dtype());
  if (autograd::needs_grad({x, p}))
    autograd::record("add_to_each_sample", {x, p}, {y},
                     [x_grad = autograd::grad_target(x), p_grad = autograd::grad_target(p), batch, size,
                      p_shape = p.shape()](const std::vector<Tensor>& grads) {
                       autograd::accumulate_grad(x_grad, grads[0]);
                       const Tensor dy = grads[0].to_plain().to_dtype(DType::f32);
                       Tensor dp = Tensor::zeros(p_shape);
                       const float* g = dy.data<float>();
                       float* out = dp.data<float>();
#pragma omp parallel for schedule(static)
                       for (int64_t i = 0; i < size; ++i)
                         for (int64_t n = 0; n < batch; ++n) out[i] += g[n * size + i];  // batch order
                       autograd::accumulate_grad(p_grad, dp);
                     });
  return y;
}

}  // namespace sugar::ops
