#pragma once
// Scaled dot-product attention with autograd, as ViT and Swin use it:
//
//   out[b, h] = softmax(scale * q[b, h] k[b, h]^T + bias[h] + mask[b % W]) v[b, h]
//
// q, k, v: [B, H, L, d] (batch, heads, tokens, head width), f32 or bf16, any layout (read as plain);
// out: plain [B, H, L, d] like q. bias (optional, f32 [H, L, L], e.g. Swin's relative position bias
// gathered from its table) is added to every batch's scores and gets a gradient; mask (optional, f32
// [W, L, L], a constant such as Swin's shifted-window mask of 0 and -100) is added to batch b's scores
// with window b % W (Swin's batch is images x windows, windows fastest).
//
// Memory. The [B, H, L, L] scores and probabilities exist only while the op runs: the tape keeps q, k,
// v (and bias), and the backward computes the probabilities again from them (one more q k^T product and
// softmax) instead of keeping them, which for ViT-tiny on 32x32 images (65 tokens, 3 heads) is 51 KB
// per image and layer in f32 and for a model with longer sequences grows with L^2. The forward holds
// two [B, H, L, L] f32 tensors at once, the backward four. The scores and softmax run in f32 for bf16
// inputs too; the products with v and the gradients' products take bf16 operands, as PyTorch's autocast.
#include "sugar/tensor.hpp"

namespace sugar::ops {

struct AttentionOptions {
  float scale = 0.0f;  // 0 = 1 / sqrt(d)
  Tensor bias;         // undefined, or f32 [H, L, L]
  Tensor mask;         // undefined, or f32 [W, L, L] with B a multiple of W
};

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options = {});

}  // namespace sugar::ops
