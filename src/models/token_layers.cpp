#include "sugar/models/token_layers.hpp"

#include "sugar/error.hpp"
#include "sugar/ops/shape.hpp"

namespace sugar::models {

Tensor on_last_axis(nn::Module& layer, const Tensor& x) {
  const Tensor y = layer.forward(ops::reshape(x, {x.numel() / x.dim(-1), x.dim(-1)}));
  Shape out = x.shape();
  out.back() = y.dim(1);
  return ops::reshape(y, out);
}

HeadsQkv split_heads(const Tensor& qkv, int64_t heads) {
  SUGAR_CHECK(qkv.ndim() == 3 && heads > 0 && qkv.dim(2) % (3 * heads) == 0, "split_heads: expected [B, L, 3C] with C a "
              "multiple of ", heads, " heads, got ", to_string(qkv.shape()));
  const int64_t B = qkv.dim(0), L = qkv.dim(1), d = qkv.dim(2) / (3 * heads);
  const Tensor split = ops::permute(ops::reshape(qkv, {B, L, 3, heads, d}), {2, 0, 3, 1, 4});  // [3, B, H, L, d]
  const auto part = [&](int64_t i) { return ops::reshape(ops::slice(split, 0, i, 1), {B, heads, L, d}); };
  return {part(0), part(1), part(2)};
}

Tensor join_heads(const Tensor& x) {
  SUGAR_CHECK(x.ndim() == 4, "join_heads: expected [B, heads, L, d], got ", to_string(x.shape()));
  return ops::reshape(ops::permute(x, {0, 2, 1, 3}), {x.dim(0), x.dim(2), x.dim(1) * x.dim(3)});
}

}  // namespace sugar::models
