#pragma once
// Every oneDNN primitive is created once per (op, shapes, layouts, attributes) and reused: creating a
// convolution primitive costs milliseconds (JIT code generation), executing a small one microseconds.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "sugar/tensor.hpp"

namespace sugar {

// Builds a cache key from the parts that determine a primitive: op name, descriptors, numbers.
class CacheKey {
 public:
  explicit CacheKey(const std::string& op) : text_(op) {}
  CacheKey& operator<<(const memory::desc& desc);
  CacheKey& operator<<(const std::string& part);
  CacheKey& operator<<(const char* part) { return *this << std::string(part); }
  CacheKey& operator<<(int64_t value);
  CacheKey& operator<<(int value) { return *this << static_cast<int64_t>(value); }
  CacheKey& operator<<(double value);
  CacheKey& operator<<(const Shape& dims);
  const std::string& str() const { return text_; }

 private:
  std::string text_;
};

template <class PrimitiveDesc>
struct CachedPrimitive {
  PrimitiveDesc pd;
  dnnl::primitive primitive;
};

// Every cached primitive takes its scratchpad from its caller, a fresh one per execution
// (execute_primitive below). oneDNN's own (scratchpad_mode::library) belongs to the primitive and is
// shared by every thread that executes it: two ranks of a thread group running the same batch-norm
// backward at once overwrote each other's partial sums (tests/test_primitive_scratchpad.cpp). make_pd
// builds its descriptor with this attribute; cached_primitive refuses one that does not.
dnnl::primitive_attr user_scratchpad_attr();

// Runs `primitive` on this thread's stream, with a scratchpad of its own from the memory pool when it
// needs one, and waits for it.
void execute_primitive(const dnnl::primitive& primitive, std::unordered_map<int, memory> args);

namespace detail {
void check_user_scratchpad(const dnnl::primitive_attr& attr, const std::string& key);
std::shared_ptr<void>& primitive_cache_slot(const std::string& key);
std::mutex& primitive_cache_mutex();
void note_implementation(const std::string& key, const char* implementation);  // caller holds the lock
}  // namespace detail

// The primitive for `key`, created from make_pd() on first use. The returned reference stays valid
// until clear_primitive_cache(). The lock is not held while make_pd() runs, so a backward primitive
// may look up its forward hint in the cache from inside its own make_pd (a held lock would deadlock);
// if two threads create the same entry at once, the first one stored wins.
template <class PrimitiveDesc, class MakePd>
const CachedPrimitive<PrimitiveDesc>& cached_primitive(const CacheKey& key, MakePd&& make_pd) {
  const std::string full_key = std::string(typeid(PrimitiveDesc).name()) + "|" + key.str();
  {
    std::lock_guard<std::mutex> lock(detail::primitive_cache_mutex());
    if (const std::shared_ptr<void>& slot = detail::primitive_cache_slot(full_key))
      return *static_cast<CachedPrimitive<PrimitiveDesc>*>(slot.get());
  }
  auto entry = std::make_shared<CachedPrimitive<PrimitiveDesc>>();
  entry->pd = make_pd();
  detail::check_user_scratchpad(entry->pd.get_primitive_attr(), key.str());
  entry->primitive = dnnl::primitive(entry->pd.get());
  std::lock_guard<std::mutex> lock(detail::primitive_cache_mutex());
  std::shared_ptr<void>& slot = detail::primitive_cache_slot(full_key);
  if (!slot) {
    slot = entry;
    detail::note_implementation(key.str(), entry->pd.impl_info_str());
  }
  return *static_cast<CachedPrimitive<PrimitiveDesc>*>(slot.get());
}

size_t primitive_cache_size();

// Which oneDNN implementation serves each cached primitive, in creation order: the cache key
// ("conv2d_forward_training|f32 [128,64,32,32] ...") and oneDNN's name for the code it picked
// ("jit:avx512_core", "brg:avx512_core_bf16", ...). `sugar bench` reports them.
struct PrimitiveImplementation {
  std::string key;
  std::string implementation;
};
std::vector<PrimitiveImplementation> primitive_implementations();

void clear_primitive_cache();

}  // namespace sugar
