// Scaled dot-product attention: forward and backward side by side (see attention.hpp).
#include "sugar/ops/attention.hpp"

#include <cmath>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/matmul.hpp"
#include "sugar/ops/softmax.hpp"
#include "sugar/profiler.hpp"

namespace sugar::ops {
namespace {

struct AttentionShape {
  int64_t B = 0, H = 0, L = 0, d = 0, W = 1;
  float scale = 1.0f;
};

AttentionShape check_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  SUGAR_CHECK(q.defined() && k.defined() && v.defined(), "attention: q, k or v is undefined");
  SUGAR_CHECK(q.ndim() == 4, "attention: q must be [B, H, L, d], got ", to_string(q.shape()));
  SUGAR_CHECK(k.shape() == q.shape() && v.shape() == q.shape(), "attention: q, k and v must have one shape, got ",
              to_string(q.shape()), ", ", to_string(k.shape()), ", ", to_string(v.shape()));
  SUGAR_CHECK(k.dtype() == q.dtype() && v.dtype() == q.dtype(), "attention: q, k and v must have one data type");
  AttentionShape s{q.dim(0), q.dim(1), q.dim(2), q.dim(3), 1, o.scale};
  if (s.scale == 0.0f) s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.d)));
  SUGAR_CHECK(std::isfinite(s.scale), "attention: the scale must be finite, got ", o.scale);
  if (o.bias.defined())
    SUGAR_CHECK(o.bias.shape() == (Shape{s.H, s.L, s.L}) && o.bias.dtype() == DType::f32,
                "attention: bias must be f32 [H, L, L] = [", s.H, ", ", s.L, ", ", s.L, "], got ",
                to_string(o.bias.shape()));
  if (o.mask.defined()) {
    SUGAR_CHECK(o.mask.ndim() == 3 && o.mask.dim(1) == s.L && o.mask.dim(2) == s.L && o.mask.dtype() == DType::f32 &&
                    o.mask.dim(0) > 0 && s.B % o.mask.dim(0) == 0,
                "attention: mask must be f32 [W, L, L] with the batch ", s.B, " a multiple of W, got ",
                to_string(o.mask.shape()));
    s.W = o.mask.dim(0);
  }
  return s;
}

// softmax(scale * q k^T + bias + mask), f32 [B, H, L, L].
Tensor probabilities(const Tensor& q, const Tensor& k, const Tensor& bias, const Tensor& mask, const AttentionShape& s) {
  Tensor scores = matmul_values(q, k, {false, true, s.scale}, DType::f32);
  if (bias.defined() || mask.defined()) {
    float* out = scores.data<float>();
    const Tensor bias_plain = bias.defined() ? bias.to_plain() : Tensor();
    const Tensor mask_plain = mask.defined() ? mask.to_plain() : Tensor();
    const float* b = bias_plain.defined() ? bias_plain.data<float>() : nullptr;
    const float* m = mask_plain.defined() ? mask_plain.data<float>() : nullptr;
    const int64_t square = s.L * s.L;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < s.B; ++n)
      for (int64_t h = 0; h < s.H; ++h) {
        float* row = out + (n * s.H + h) * square;
        if (b)
          for (int64_t i = 0; i < square; ++i) row[i] += b[h * square + i];
        if (m)
          for (int64_t i = 0; i < square; ++i) row[i] += m[(n % s.W) * square + i];
      }
  }
  return softmax_values(scores);
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  profiler::Scope scope(profiler::OpKind::attention);  // its backward too
  const AttentionShape s = check_attention(q, k, v, options);
  const DType dtype = q.dtype();
  const Tensor p = probabilities(q, k, options.bias, options.mask, s);
  Tensor out = matmul_values(p.to_dtype(dtype), v, {}, dtype);
  if (!autograd::needs_grad({q, k, v, options.bias})) return out;
  autograd::record(
      "attention", {q, k, v, options.bias}, {out},
      [s, dtype, saved_q = q.detach(), saved_k = k.detach(), saved_v = v.detach(),
       bias = options.bias.defined() ? options.bias.detach() : Tensor(),
       mask = options.mask.defined() ? options.mask.detach() : Tensor(), q_grad = autograd::grad_target(q),
       k_grad = autograd::grad_target(k), v_grad = autograd::grad_target(v),
       bias_grad = autograd::grad_target(options.bias)](const std::vector<Tensor>& grads) {
        // The probabilities again, from what the tape kept (attention.hpp: memory).
        const Tensor p = probabilities(saved_q, saved_k, bias, mask, s);
        const Tensor d_out = grads[0].to_dtype(dtype);
        // out = P v: dv = P^T dout, dP = dout v^T.
        autograd::accumulate_grad(v_grad, matmul_values(p.to_dtype(dtype), d_out, {true, false, 1.0f}, dtype));
        const Tensor d_p = matmul_values(d_out, saved_v, {false, true, 1.0f}, DType::f32);
        // P = softmax(S): dS = P * (dP - rowsum(dP * P)).
        const Tensor d_scores = softmax_backward_values(p, d_p);
        // S = scale q k^T + bias + mask: dq = scale dS k, dk = scale dS^T q, dbias[h] = sum over b of dS[b, h].
        const Tensor d_scores_dt = d_scores.to_dtype(dtype);
        autograd::accumulate_grad(q_grad, matmul_values(d_scores_dt, saved_k, {false, false, s.scale}, dtype));
        autograd::accumulate_grad(k_grad, matmul_values(d_scores_dt, saved_q, {true, false, s.scale}, dtype));
        if (bias.defined()) {
          const int64_t square = s.L * s.L;
          Tensor d_bias = Tensor::zeros({s.H, s.L, s.L});
          float* out = d_bias.data<float>();
          const float* ds = d_scores.data<float>();
#pragma omp parallel for schedule(static)
          for (int64_t h = 0; h < s.H; ++h)
            for (int64_t n = 0; n < s.B; ++n)  // in batch order whatever the threads: the same bits
              for (int64_t i = 0; i < square; ++i) out[h * square + i] += ds[(n * s.H + h) * square + i];
          autograd::accumulate_grad(bias_grad, d_bias);
        }
      });
  return out;
}

}  // namespace sugar::ops
