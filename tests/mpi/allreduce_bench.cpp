// How long the gradient all-reduce of a ResNet-18 takes (11,173,962 f32 gradients, 44.7 MB), as one
// buffer and in buckets, through dist::world() (non-blocking MPI polled with sleeps on the
// communication thread), next to a plain blocking MPI_Allreduce, with the CPU time the process used;
// and the CPU time a rank spends waiting for a late one, which shows that waiting does not spin a core.
//
//   mpirun -np 2 build/tests/mpi_allreduce_bench [repeats]     (as root in a container: source tests/mpi/mpi_env.sh)
// The C API only: in C++, mpi.h would also declare the long-removed C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "sugar/dist/communicator.hpp"

namespace {

constexpr int64_t resnet18_parameters = 11'173'962;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

struct Timing {
  double wall = 0, cpu = 0;
};

// Best and median wall time of `repeats` runs of `run`, after one warm-up; CPU seconds of the median.
template <class Run>
void measure(const char* label, int repeats, sugar::dist::Communicator& c, Run run) {
  run();
  std::vector<Timing> timings;
  for (int i = 0; i < repeats; ++i) {
    c.barrier();
    const double cpu0 = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    run();
    timings.push_back(
        {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), cpu_seconds() - cpu0});
  }
  std::sort(timings.begin(), timings.end(), [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
  const Timing& median = timings[timings.size() / 2];
  if (c.rank() == 0)
    std::printf("%-44s best %7.1f ms   median %7.1f ms   CPU %5.0f%% of one core (median run)\n", label,
                1e3 * timings.front().wall, 1e3 * median.wall, 100.0 * median.cpu / median.wall);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  sugar::dist::Communicator& c = sugar::dist::world();
  std::vector<float> gradients(resnet18_parameters, 1.0f);
  if (c.rank() == 0)
    std::printf("%s: all-reduce of %lld f32 values (%.1f MB), %d runs each\n", c.description().c_str(),
                static_cast<long long>(resnet18_parameters), resnet18_parameters * 4 / 1e6, repeats);

  for (int64_t bucket_bytes :
       {int64_t(resnet18_parameters * 4), int64_t(25) << 20, int64_t(4) << 20, int64_t(1) << 20}) {
    const int64_t per_bucket = std::max<int64_t>(1, bucket_bytes / 4);
    std::string label = bucket_bytes >= resnet18_parameters * 4
                            ? std::string("dist: one 44.7 MB buffer")
                            : "dist: " + std::to_string(bucket_bytes >> 20) + " MB buckets (" +
                                  std::to_string((resnet18_parameters + per_bucket - 1) / per_bucket) + ")";
    measure(label.c_str(), repeats, c, [&] {
      std::vector<sugar::dist::Request> requests;
      for (int64_t offset = 0; offset < resnet18_parameters; offset += per_bucket)
        requests.push_back(
            c.allreduce_sum_async(gradients.data() + offset, std::min(per_bucket, resnet18_parameters - offset)));
      for (auto& r : requests) r.wait();
    });
  }
  // The communication thread is idle here (every request above was waited for), so calling MPI from
  // this thread keeps MPI's calls serialised.
  measure("MPI_Allreduce, blocking, one buffer", repeats, c, [&] {
    MPI_Allreduce(MPI_IN_PLACE, gradients.data(), static_cast<int>(resnet18_parameters), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
  });
  // Waiting for a late rank: rank 1 joins a 4 MB all-reduce one second late; rank 0's CPU meanwhile.
  {
    c.barrier();
    const double cpu0 = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    if (c.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(1));
    c.allreduce_sum(gradients.data(), (int64_t(4) << 20) / 4);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (c.rank() == 0)
      std::printf("%-44s wall %7.1f ms   CPU %5.1f%% of one core\n", "rank 0 waiting 1 s for rank 1 (4 MB)", 1e3 * wall,
                  100.0 * (cpu_seconds() - cpu0) / wall);
  }
  sugar::dist::finalize();
  return 0;
}
