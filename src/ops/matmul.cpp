// Batched matrix multiply: forward and backward side by side (see matmul.hpp). Shape letters: B... the
// shared leading axes, M rows of op(a), K the reduced axis, N columns of op(b).
#include "sugar/ops/matmul.hpp"

#include <cmath>
#include <string>
#include <unordered_map>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {
namespace {

using data_type = memory::data_type;
using MatmulPd = dnnl::matmul::primitive_desc;

// Row-major strides of `dims`.
memory::dims plain_strides(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

// The operand's matrix as the product reads it: a plain tensor of `dims`, seen transposed (its last
// two axes swapped) through strides when `transposed`.
memory::desc operand_desc(const Shape& dims, data_type type, bool transposed) {
  memory::dims shape(dims.begin(), dims.end());
  memory::dims strides = plain_strides(shape);
  if (transposed) {
    const size_t n = shape.size();
    std::swap(shape[n - 1], shape[n - 2]);
    std::swap(strides[n - 1], strides[n - 2]);
  }
  return memory::desc(shape, type, strides);
}

void check_operands(const Tensor& a, const Tensor& b, const MatmulOptions& options) {
  SUGAR_CHECK(a.defined() && b.defined(), "matmul: an operand is undefined");
  const std::string shapes = " (a " + to_string(a.shape()) + ", b " + to_string(b.shape()) + ")";
  SUGAR_CHECK(a.ndim() >= 2 && a.ndim() <= 4 && a.ndim() == b.ndim(), "matmul: expected operands of 2 to 4 axes, "
              "as many each", shapes);
  for (int i = 0; i + 2 < a.ndim(); ++i)
    SUGAR_CHECK(a.dim(i) == b.dim(i), "matmul: the batch axes differ", shapes);
  const int64_t k_a = options.transpose_a ? a.dim(-2) : a.dim(-1);
  const int64_t k_b = options.transpose_b ? b.dim(-1) : b.dim(-2);
  SUGAR_CHECK(k_a == k_b, "matmul: op(a) has ", k_a, " columns but op(b) has ", k_b, " rows", shapes);
  SUGAR_CHECK(a.dtype() == b.dtype(), "matmul: the operands' data types differ", shapes);
  SUGAR_CHECK(std::isfinite(options.scale), "matmul: the scale must be finite, got ", options.scale);
}

}  // namespace

Tensor matmul_values(const Tensor& a, const Tensor& b, const MatmulOptions& options, DType dst_dtype) {
  check_operands(a, b, options);
  const Tensor a_plain = a.to_plain(), b_plain = b.to_plain();
  const data_type type = to_dnnl(a.dtype());
  const memory::desc a_desc = operand_desc(a.shape(), type, options.transpose_a);
  const memory::desc b_desc = operand_desc(b.shape(), type, options.transpose_b);
  Shape out = a.shape();
  out[out.size() - 2] = options.transpose_a ? a.dim(-1) : a.dim(-2);
  out[out.size() - 1] = options.transpose_b ? b.dim(-2) : b.dim(-1);
  const memory::desc c_desc = operand_desc(out, to_dnnl(dst_dtype), false);
  CacheKey key("matmul");
  key << a_desc << b_desc << c_desc << static_cast<double>(options.scale);
  const auto& cached = cached_primitive<MatmulPd>(key, [&] {
    dnnl::primitive_attr attr = user_scratchpad_attr();
    if (options.scale != 1.0f) attr.set_output_scales(0, {options.scale});
    return MatmulPd(dnnl::matmul::desc(a_desc, b_desc, c_desc), attr, cpu_engine());
  });
  Tensor c = Tensor::from_desc(c_desc);
  execute_primitive(cached.primitive, {{DNNL_ARG_SRC, memory(a_desc, cpu_engine(), a_plain.raw_data())},
                                       {DNNL_ARG_WEIGHTS, memory(b_desc, cpu_engine(), b_plain.raw_data())},
                                       {DNNL_ARG_DST, c.memory_handle()}});
  return c;
}

Tensor matmul(const Tensor& a, const Tensor& b, const MatmulOptions& options) {
  profiler::Scope scope(profiler::OpKind::matmul);  // its backward too
  Tensor c = matmul_values(a, b, options, a.dtype());
  if (!autograd::needs_grad({a, b})) return c;
  autograd::record(
      "matmul", {a, b}, {c},
      [options, a_grad = autograd::grad_target(a), b_grad = autograd::grad_target(b),
       saved_a = b.requires_grad() ? a.detach() : Tensor(), saved_b = a.requires_grad() ? b.detach() : Tensor(),
       dtype = a.dtype()](const std::vector<Tensor>& grads) {
        const Tensor dc = grads[0].to_dtype(dtype);
        const bool ta = options.transpose_a, tb = options.transpose_b;
        const float s = options.scale;
        // With op(a) = A', op(b) = B': dA' = s dC B'^T and dB' = s A'^T dC, then transposed back where
        // op transposed (dA = dA'^T, dB = dB'^T); each is one matmul with the right operand order.
        if (saved_b.defined()) {
          const Tensor da = ta ? matmul_values(saved_b, dc, {tb, true, s}, dtype)    // (s dC B'^T)^T = s B' dC^T
                               : matmul_values(dc, saved_b, {false, !tb, s}, dtype);  // s dC B'^T
          autograd::accumulate_grad(a_grad, da);
        }
        if (saved_a.defined()) {
          const Tensor db = tb ? matmul_values(dc, saved_a, {true, ta, s}, dtype)    // (s A'^T dC)^T = s dC^T A'
                               : matmul_values(saved_a, dc, {!ta, false, s}, dtype);  // s A'^T dC
          autograd::accumulate_grad(b_grad, db);
        }
      });
  return c;
}

}  // namespace sugar::ops
