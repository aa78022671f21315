// Times the register-only loops of bench/peak_kernels.hpp on every thread at once
// (include/sugar/bench/peak.hpp).
#include "sugar/bench/peak.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/runtime.hpp"

namespace sugar::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct TimedRun {
  int64_t flops = 0;
  double seconds = 0;
};

// One loop per thread, started together after a barrier; the time runs from the first thread's start
// to the last one's finish, so a thread that started late or ran slow counts against the peak.
TimedRun run_on_every_thread(PeakKernel kernel, int accumulators, int64_t iterations, int threads) {
  std::vector<Clock::time_point> starts(static_cast<size_t>(threads)), ends(static_cast<size_t>(threads));
  std::vector<int64_t> flops(static_cast<size_t>(threads), 0);
  int team = 0;
#pragma omp parallel num_threads(threads)
  {
    const auto t = static_cast<size_t>(omp_get_thread_num());
#pragma omp single
    team = omp_get_num_threads();
#pragma omp barrier
    starts[t] = Clock::now();
    flops[t] = run_peak_kernel(kernel, accumulators, iterations).flops;
    ends[t] = Clock::now();
  }
  const auto used = static_cast<size_t>(team);
  const Clock::time_point start = *std::min_element(starts.begin(), starts.begin() + static_cast<long>(used));
  const Clock::time_point end = *std::max_element(ends.begin(), ends.begin() + static_cast<long>(used));
  TimedRun run;
  for (size_t t = 0; t < used; ++t) run.flops += flops[t];
  run.seconds = std::chrono::duration<double>(end - start).count();
  return run;
}

// The loop length that takes about `seconds`: grown from a short probe until a run is long enough
// for the clock (5 ms), then scaled.
int64_t calibrated_iterations(PeakKernel kernel, int accumulators, int threads, double seconds) {
  int64_t iterations = 1 << 12;
  TimedRun probe = run_on_every_thread(kernel, accumulators, iterations, threads);
  while (probe.seconds < 0.005 && iterations < (int64_t{1} << 40)) {
    iterations *= 4;
    probe = run_on_every_thread(kernel, accumulators, iterations, threads);
  }
  const double per_iteration = probe.seconds / static_cast<double>(iterations);
  return std::max<int64_t>(1, static_cast<int64_t>(seconds / per_iteration));
}

KernelPeak measure_kernel(PeakKernel kernel, const PeakOptions& options, int threads) {
  KernelPeak peak;
  peak.kernel = kernel;
  for (int accumulators : peak_kernel_accumulator_counts(kernel)) {
    const int64_t iterations = calibrated_iterations(kernel, accumulators, threads, options.seconds_per_run);
    AccumulatorPeak best{accumulators, 0};
    for (int r = 0; r < options.repeats; ++r) {
      const TimedRun run = run_on_every_thread(kernel, accumulators, iterations, threads);
      best.gflops = std::max(best.gflops, static_cast<double>(run.flops) / run.seconds / 1e9);
    }
    peak.by_accumulators.push_back(best);
    if (best.gflops > peak.gflops) {
      peak.gflops = best.gflops;
      peak.accumulators = accumulators;
    }
  }
  return peak;
}

}  // namespace

PeakKernel fp32_peak_kernel() {
  if (peak_kernel_supported(PeakKernel::fp32_avx512)) return PeakKernel::fp32_avx512;
  if (peak_kernel_supported(PeakKernel::fp32_avx2)) return PeakKernel::fp32_avx2;
  throw Error("bench --peak: this CPU has neither AVX-512 nor AVX2 with FMA", ErrorKind::runtime);
}

PeakResult measure_peak(const PeakOptions& options) {
  SUGAR_CHECK(options.repeats >= 1, "bench --peak: repeats must be at least 1, got ", options.repeats);
  SUGAR_CHECK(options.seconds_per_run > 0, "bench --peak: seconds_per_run must be positive, got ",
              options.seconds_per_run);
  if (options.threads > 0) set_num_threads(options.threads);
  PeakResult result;
  result.threads = num_threads();
  result.repeats = options.repeats;
  result.fp32 = measure_kernel(fp32_peak_kernel(), options, result.threads);
  if (peak_kernel_supported(PeakKernel::bf16_avx512))
    result.bf16 = measure_kernel(PeakKernel::bf16_avx512, options, result.threads);
  return result;
}

}  // namespace sugar::bench
