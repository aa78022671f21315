#pragma once
// What the transformer models (vit.hpp, swin.hpp) share on token tensors [..., C]: a layer that takes
// [rows, C] run over the last axis, and the split of one q-k-v projection into heads and back.
#include <cstdint>

#include "sugar/nn/module.hpp"
#include "sugar/tensor.hpp"

namespace sugar::models {

// [..., C] through `layer` as [rows, C] (a reshape each way, no copy of a plain tensor): a Linear or
// an MLP applied to every token.
Tensor on_last_axis(nn::Module& layer, const Tensor& x);

// q, k and v, [B, heads, L, C / heads] each, from one projection [B, L, 3C] whose last axis holds q,
// k and v side by side and, within each, head h at columns h*d .. h*d + d (torch's MultiheadAttention
// and Swin's qkv layer).
struct HeadsQkv {
  Tensor q, k, v;
};
HeadsQkv split_heads(const Tensor& qkv, int64_t heads);

// [B, heads, L, d] -> [B, L, heads * d]: the heads' outputs side by side again.
Tensor join_heads(const Tensor& x);

}  // namespace sugar::models
