#include "sugar/primitive_cache.hpp"

#include <cstdio>
#include <unordered_map>

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

namespace detail {
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
