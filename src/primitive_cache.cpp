#include "sugar/primitive_cache.hpp"

#include <cstdio>
#include <memory>
#include <unordered_map>

#include "sugar/error.hpp"
#include "sugar/memory_pool.hpp"
#include "sugar/runtime.hpp"

namespace sugar {

CacheKey& CacheKey::operator<<(const memory::desc& desc) {
  text_ += '|';
  text_ += describe(desc);
  return *this;
}

CacheKey& CacheKey::operator<<(const std::string& part) {
  text_ += '|';
  text_ += part;
  return *this;
}

CacheKey& CacheKey::operator<<(int64_t value) {
  text_ += '|';
  text_ += std::to_string(value);
  return *this;
}

CacheKey& CacheKey::operator<<(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "|%.9g", value);
  text_ += buffer;
  return *this;
}

CacheKey& CacheKey::operator<<(const Shape& dims) {
  text_ += '|';
  text_ += to_string(dims);
  return *this;
}

namespace {
std::unordered_map<std::string, std::shared_ptr<void>>& cache() {
  static std::unordered_map<std::string, std::shared_ptr<void>> entries;
  return entries;
}

std::vector<PrimitiveImplementation>& implementations() {
  static std::vector<PrimitiveImplementation> entries;
  return entries;
}
}  // namespace

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void execute_primitive(const dnnl::primitive& primitive, std::unordered_map<int, memory> args) {
  const dnnl_memory_desc_t* scratchpad_md =
      dnnl_primitive_desc_query_md(primitive.get_primitive_desc(), dnnl_query_scratchpad_md, 0);
  const memory::desc scratchpad_desc = scratchpad_md ? memory::desc(*scratchpad_md) : memory::desc();
  const size_t scratchpad_bytes = scratchpad_desc.get_size();
  // Handed back to the memory pool when the call ends, so the next execution reuses it (Winograd's
  // scratchpad is up to 134 MiB for ResNet-18's last stage at batch 128).
  std::unique_ptr<void, void (*)(void*)> scratchpad(
      scratchpad_bytes > 0 ? memory_pool::allocate(scratchpad_bytes) : nullptr, memory_pool::release);
  if (scratchpad_bytes > 0) args[DNNL_ARG_SCRATCHPAD] = memory(scratchpad_desc, cpu_engine(), scratchpad.get());
  primitive.execute(cpu_stream(), args);
  cpu_stream().wait();
}

namespace detail {
void check_user_scratchpad(const dnnl::primitive_attr& attr, const std::string& key) {
  SUGAR_CHECK(attr.get_scratchpad_mode() == dnnl::scratchpad_mode::user, "internal error: primitive ", key,
              " was described without user_scratchpad_attr() (its scratchpad would be shared between threads)");
}

std::shared_ptr<void>& primitive_cache_slot(const std::string& key) { return cache()[key]; }
std::mutex& primitive_cache_mutex() {
  static std::mutex mutex;
  return mutex;
}
void note_implementation(const std::string& key, const char* implementation) {
  implementations().push_back({key, implementation != nullptr ? implementation : "?"});
}
}  // namespace detail

size_t primitive_cache_size() {
  std::lock_guard<std::mutex> lock(detail::primitive_cache_mutex());
  return cache().size();
}

void clear_primitive_cache() {
  std::lock_guard<std::mutex> lock(detail::primitive_cache_mutex());
  cache().clear();
  implementations().clear();
}

std::vector<PrimitiveImplementation> primitive_implementations() {
  std::lock_guard<std::mutex> lock(detail::primitive_cache_mutex());
  return implementations();
}

}  // namespace sugar
