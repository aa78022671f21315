#pragma once
// Batched matrix multiply with autograd, on oneDNN's matmul primitive:
//
//   c[..., M, N] = scale * op(a)[..., M, K] * op(b)[..., K, N],   op(x) = x or x^T (its last two axes)
//
// a and b have 2 to 4 axes and the same leading (batch) axes. A transposed operand is read through
// strides, never copied. Inputs of any layout are read as plain row-major; the result is plain, f32
// or bf16 like a (both operands share one data type). The backward is two more matmuls per pass:
// d op(a) = scale * dc * op(b)^T and d op(b) = scale * op(a)^T * dc, transposed back where op
// transposed.
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct MatmulOptions {
  bool transpose_a = false;
  bool transpose_b = false;
  float scale = 1.0f;  // e.g. attention's 1/sqrt(d), folded into the primitive
};

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options = {});

// The same product without autograd (the building block of the backward above and of attention).
// dst_dtype: the result's data type (f32 accumulations of bf16 operands stay f32 when asked).
Tensor matmul_values(const Tensor& a, const Tensor& b, const MatmulOptions& options, DType dst_dtype);

}  // namespace sugar::ops
