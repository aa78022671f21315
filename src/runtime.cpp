#include "sugar/runtime.hpp"

#include <malloc.h>
#include <omp.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "sugar/error.hpp"
#include "sugar_commit.hpp"  // SUGAR_GIT_COMMIT, written at build time (cmake/write_commit.cmake)

namespace sugar {
namespace {

// The value of the first "key : value" line of /proc/cpuinfo whose key is `key`.
std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    if (name != key) continue;
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
  }
  return "";
}

}  // namespace


dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  // One in-order stream per thread: loader threads may run reorders while the trainer computes.
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  SUGAR_CHECK(n >= 1 && n <= 4096, "set_num_threads: expected 1..4096 threads, got ", n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (commit " + v->hash + ")";
}

std::string sugar_version() { return SUGAR_VERSION; }
std::string sugar_git_commit() { return SUGAR_GIT_COMMIT; }

void keep_large_blocks_in_the_heap() {
  constexpr int kOneGiB = 1 << 30;
  mallopt(M_MMAP_THRESHOLD, kOneGiB);
  mallopt(M_TRIM_THRESHOLD, kOneGiB);
}

std::string cpu_model_name() { return cpuinfo_field("model name"); }

std::vector<std::string> cpu_flags() {
  std::istringstream in(cpuinfo_field("flags"));
  std::vector<std::string> flags;
  for (std::string flag; in >> flag;) flags.push_back(flag);
  return flags;
}

}  // namespace sugar
