#include "sugar/runtime.hpp"

#include <malloc.h>
#include <omp.h>

#include <thread>

#include "sugar/error.hpp"
#include "sugar_commit.hpp"  // SUGAR_GIT_COMMIT, written at build time (cmake/write_commit.cmake)

namespace sugar {

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

}  // namespace sugar
