#pragma once
// This CPU's arithmetic peak, measured: `sugar bench --peak`. Every thread runs one register-only
// multiply-add loop (bench/peak_kernels.hpp) at once; the peak is all threads' FLOPs over the wall
// time from the first start to the last finish. Each accumulator count is run `repeats` times and
// keeps its best run (interference only ever slows a loop down); the peak is the best count's.
// The per-count results show where more independent chains stop helping: a count below that
// measures the instruction's latency, not the machine.
//
// fp32 uses 512-bit FMAs where the CPU has AVX-512, else 256-bit AVX2 FMAs; bf16 uses vdpbf16ps where
// CPUID reports AVX512_BF16 and is absent otherwise. A speed "as a fraction of peak" divides a
// model's FLOPs per second (nn/direct_flops.hpp) by these numbers.
#include <optional>
#include <string>
#include <vector>

#include "sugar/bench/peak_kernels.hpp"

namespace sugar::bench {

struct PeakOptions {
  int threads = 0;                // > 0: set the thread count first; 0: keep the process's
  int repeats = 5;                // runs per accumulator count; the best is kept
  double seconds_per_run = 0.04;  // each run's length, about (the loop's length is calibrated)
};

struct AccumulatorPeak {
  int accumulators = 0;
  double gflops = 0;  // the best run's
};

struct KernelPeak {
  PeakKernel kernel = PeakKernel::fp32_avx2;
  double gflops = 0;      // the best over every accumulator count
  int accumulators = 0;   // the count that gave it
  std::vector<AccumulatorPeak> by_accumulators;  // ascending counts
};

struct PeakResult {
  int threads = 0;
  int repeats = 0;
  KernelPeak fp32;
  std::optional<KernelPeak> bf16;  // absent where the CPU has no AVX512_BF16
};

// The fp32 kernel this CPU runs: AVX-512 where it has it, else AVX2. Throws sugar::Error (runtime)
// on a CPU with neither (Sugar itself is built for x86-64-v3, which has AVX2).
PeakKernel fp32_peak_kernel();

// Measures fp32 and, where available, bf16. Takes about 2 x 7 x repeats x seconds_per_run.
PeakResult measure_peak(const PeakOptions& options = {});

// {"peak": {"threads", "repeats", "fp32_gflops", "fp32_isa", "fp32_instruction", "fp32_accumulators",
//  "bf16_gflops", "bf16_isa", "bf16_instruction", "bf16_accumulators" (null without bf16),
//  "by_accumulators": {"fp32": [{"accumulators", "gflops"}...], "bf16": [...] or null}}} on one line.
std::string peak_to_json_text(const PeakResult& result);
// For people: the peaks, the ISA and instruction measured, and the GFLOPS per accumulator count.
std::string peak_to_table_text(const PeakResult& result);

}  // namespace sugar::bench
