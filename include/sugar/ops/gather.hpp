#pragma once
// Rows of a table picked by index, with autograd: y[i, :] = table[index[i], :] (torch.index_select on
// axis 0). Swin's relative position bias reads its [(2w-1)^2, heads] table this way for every pair of
// tokens in a window. The backward adds each row's gradient back into the table row it came from, in
// index order (the same sums whatever the thread count).
#include <cstdint>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::ops {

// table: f32 [R, C]; every index in [0, R). y: plain f32 [index.size(), C].
Tensor index_rows(const Tensor& table, const std::vector<int64_t>& index);

}  // namespace sugar::ops
