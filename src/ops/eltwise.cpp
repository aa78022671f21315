#include "sugar/ops/eltwise.hpp"

#include <string>

#include "sugar/primitive_cache.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {

namespace {

using dnnl::algorithm;

std::string eltwise_context(algorithm alg, float alpha, float beta, const memory::desc& desc) {
  return ::sugar::detail::concat("algorithm ", static_cast<int>(alg), " (alpha ", alpha, ", beta ", beta, ") on ",
                        describe(desc));
}

CacheKey eltwise_key(const char* op, algorithm alg, float alpha, float beta, const memory::desc& desc) {
  CacheKey key(op);
  key << static_cast<int>(alg) << static_cast<double>(alpha) << static_cast<double>(beta) << desc;
  return key;
}

// Physical offset (in elements) of a logical position in a blocked layout, as oneDNN defines it:
// inner blocks are peeled off innermost first, the remaining outer indices use the strides.
int64_t blocked_offset(const dnnl_memory_desc_t& md, int64_t* pos) {
  const auto& blk = md.format_desc.blocking;
  int64_t offset = md.offset0;
  int64_t inner_stride = 1;
  for (int b = blk.inner_nblks - 1; b >= 0; --b) {
    const int d = blk.inner_idxs[b];
    offset += (pos[d] % blk.inner_blks[b]) * inner_stride;
    pos[d] /= blk.inner_blks[b];
    inner_stride *= blk.inner_blks[b];
  }
  for (int d = 0; d < md.ndims; ++d) offset += pos[d] * blk.strides[d];
  return offset;
}

}  // namespace

bool eltwise_backward_uses_dst(algorithm alg) {
  switch (alg) {
    case algorithm::eltwise_relu_use_dst_for_bwd:
    case algorithm::eltwise_tanh_use_dst_for_bwd:
    case algorithm::eltwise_elu_use_dst_for_bwd:
    case algorithm::eltwise_sqrt_use_dst_for_bwd:
    case algorithm::eltwise_logistic_use_dst_for_bwd:
    case algorithm::eltwise_exp_use_dst_for_bwd:
    case algorithm::eltwise_clip_v2_use_dst_for_bwd:
      return true;
    default:
      return false;
  }
}

void eltwise_forward_into(algorithm alg, float alpha, float beta, const Tensor& x, const Tensor& y,
                          dnnl::prop_kind prop) {
  SUGAR_CHECK(y.desc() == x.desc(), "eltwise_forward: output layout ", describe(y.desc()),
              " differs from input layout ", describe(x.desc()));
  try {
    const auto& cached = cached_primitive<dnnl::eltwise_forward::primitive_desc>(
        eltwise_key("eltwise_fwd", alg, alpha, beta, x.desc()) << static_cast<int>(prop), [&] {
          return dnnl::eltwise_forward::primitive_desc(dnnl::eltwise_forward::desc(prop, alg, x.desc(), alpha, beta),
                                                       user_scratchpad_attr(), cpu_engine());
        });
    execute_primitive(cached.primitive, {{DNNL_ARG_SRC, x.memory_handle()}, {DNNL_ARG_DST, y.memory_handle()}});
  } catch (const dnnl::error& e) {
    throw Error("eltwise_forward: oneDNN cannot run " + eltwise_context(alg, alpha, beta, x.desc()) + ": " + e.what());
  }
}

Tensor eltwise_forward(algorithm alg, float alpha, float beta, const Tensor& x, dnnl::prop_kind prop) {
  Tensor y = Tensor::from_desc(x.desc());
  eltwise_forward_into(alg, alpha, beta, x, y, prop);
  return y;
}

Tensor eltwise_backward(algorithm alg, float alpha, float beta, const Tensor& saved, const Tensor& dy) {
  SUGAR_CHECK(saved.shape() == dy.shape(), "eltwise_backward: gradient shape ", to_string(dy.shape()),
              " differs from the saved tensor's shape ", to_string(saved.shape()));
  const memory::desc& desc = saved.desc();
  const Tensor diff_dst = dy.to_desc(desc);
  Tensor diff_src = Tensor::from_desc(desc);
  try {
    const auto& cached = cached_primitive<dnnl::eltwise_backward::primitive_desc>(
        eltwise_key("eltwise_bwd", alg, alpha, beta, desc), [&] {
          // oneDNN wants the forward primitive descriptor as a hint for the backward one.
          const dnnl::eltwise_forward::primitive_desc hint(
              dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, desc, alpha, beta), cpu_engine());
          return dnnl::eltwise_backward::primitive_desc(dnnl::eltwise_backward::desc(alg, desc, desc, alpha, beta),
                                                        user_scratchpad_attr(), cpu_engine(), hint);
        });
    const int saved_arg = eltwise_backward_uses_dst(alg) ? DNNL_ARG_DST : DNNL_ARG_SRC;
    execute_primitive(cached.primitive, {{saved_arg, saved.memory_handle()},
                                         {DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                         {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}});
  } catch (const dnnl::error& e) {
    throw Error("eltwise_backward: oneDNN cannot run " + eltwise_context(alg, alpha, beta, desc) + ": " + e.what());
  }
  return diff_src;
}

bool is_dense_layout(const memory::desc& desc) {
  const dnnl_memory_desc_t& md = desc.data;
  if (md.format_kind != dnnl_blocked || md.offset0 != 0) return false;
  int64_t padded = 1;
  for (int d = 0; d < md.ndims; ++d) padded *= md.padded_dims[d];
  const size_t element_bytes = desc.data_type() == memory::data_type::f32 ? 4 : 2;
  return desc.get_size() == static_cast<size_t>(padded) * element_bytes;
}

void detail::check_dense_f32(const Tensor& t, const char* what) {
  SUGAR_CHECK(t.dtype() == DType::f32, what, ": expected an f32 tensor, got ", describe(t.desc()));
  SUGAR_CHECK(is_dense_layout(t.desc()), what, ": needs a dense layout (no gaps, no offset), got ", describe(t.desc()));
}

void zero_padding_(const Tensor& t) {
  const dnnl_memory_desc_t& md = t.desc().data;
  if (md.format_kind != dnnl_blocked) return;
  const int ndims = md.ndims;
  const size_t element_bytes = dtype_size(t.dtype());
  char* base = static_cast<char*>(t.raw_data());
  // The padding elements split into disjoint regions, one per padded dimension i: positions whose
  // first out-of-range index is i (indices before i in range, i in the padding, the rest anything).
  for (int i = 0; i < ndims; ++i) {
    if (md.padded_dims[i] == md.dims[i]) continue;
    int64_t extent[DNNL_MAX_NDIMS];
    int64_t count = 1;
    for (int d = 0; d < ndims; ++d) {
      extent[d] = d < i ? md.dims[d] : d == i ? md.padded_dims[d] - md.dims[d] : md.padded_dims[d];
      count *= extent[d];
    }
#pragma omp parallel for schedule(static) if (count > 65536)
    for (int64_t r = 0; r < count; ++r) {
      int64_t pos[DNNL_MAX_NDIMS];
      int64_t rest = r;
      for (int d = ndims - 1; d >= 0; --d) {
        pos[d] = rest % extent[d];
        rest /= extent[d];
      }
      pos[i] += md.dims[i];
      std::memset(base + blocked_offset(md, pos) * element_bytes, 0, element_bytes);
    }
  }
}

}  // namespace sugar::ops
