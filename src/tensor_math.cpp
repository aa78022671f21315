#include "sugar/tensor_math.hpp"

#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "sugar/runtime.hpp"

namespace sugar {

Tensor add_same_layout(const Tensor& a, const Tensor& b) {
  profiler::Scope scope(profiler::OpKind::add);  // also every gradient accumulation
  SUGAR_CHECK(a.shape() == b.shape(), "add: shapes differ, ", to_string(a.shape()), " vs ", to_string(b.shape()));
  const Tensor rhs = b.to_desc(a.desc());
  Tensor out = Tensor::from_desc(a.desc());
  const auto& cached = cached_primitive<dnnl::binary::primitive_desc>(CacheKey("binary_add") << a.desc(), [&] {
    return dnnl::binary::primitive_desc(dnnl::binary::desc(dnnl::algorithm::binary_add, a.desc(), a.desc(), a.desc()),
                                        user_scratchpad_attr(), cpu_engine());
  });
  execute_primitive(cached.primitive, {{DNNL_ARG_SRC_0, a.memory_handle()},
                                       {DNNL_ARG_SRC_1, rhs.memory_handle()},
                                       {DNNL_ARG_DST, out.memory_handle()}});
  return out;
}

}  // namespace sugar
