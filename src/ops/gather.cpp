// Rows of a table by index: forward and backward side by side (see gather.hpp).
#include "sugar/ops/gather.hpp"

#include <algorithm>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"

namespace sugar::ops {

Tensor index_rows(const Tensor& table, const std::vector<int64_t>& index) {
  SUGAR_CHECK(table.defined() && table.ndim() == 2 && table.dtype() == DType::f32,
              "index_rows: the table must be f32 [R, C]");
  const int64_t rows = table.dim(0), columns = table.dim(1), n = static_cast<int64_t>(index.size());
  SUGAR_CHECK(n > 0, "index_rows: no index");
  for (size_t i = 0; i < index.size(); ++i)
    SUGAR_CHECK(index[i] >= 0 && index[i] < rows, "index_rows: index ", i, " is ", index[i], ", outside [0, ", rows, ")");
  const Tensor plain = table.to_plain();
  Tensor y = Tensor::zeros({n, columns});
  const float* src = plain.data<float>();
  float* dst = y.data<float>();
  for (int64_t i = 0; i < n; ++i) std::copy_n(src + index[i] * columns, columns, dst + i * columns);
  if (autograd::needs_grad({table}))
    autograd::record("index_rows", {table}, {y},
                     [table_grad = autograd::grad_target(table), index, rows, columns](const std::vector<Tensor>& grads) {
                       const Tensor dy = grads[0].to_plain();
                       Tensor d_table = Tensor::zeros({rows, columns});
                       float* out = d_table.data<float>();
                       const float* g = dy.data<float>();
                       for (size_t i = 0; i < index.size(); ++i)
                         for (int64_t c = 0; c < columns; ++c) out[index[i] * columns + c] += g[i * columns + c];
                       autograd::accumulate_grad(table_grad, d_table);
                     });
  return y;
}

}  // namespace sugar::ops
