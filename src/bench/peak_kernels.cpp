// The register-only multiply-add loops of `sugar bench --peak` (include/sugar/bench/peak_kernels.hpp).
// Check what the compiler made of them with
//   objdump -d --no-show-raw-insn build/CMakeFiles/sugar.dir/src/bench/peak_kernels.cpp.o | c++filt
// each loop body must be exactly `accumulators` vfmadd231ps / vdpbf16ps on registers, a counter
// increment, a compare and a branch: no load, no store, no spill.
#include "sugar/bench/peak_kernels.hpp"

#include <immintrin.h>

#include <array>
#include <string>
#include <utility>

#include "sugar/error.hpp"

namespace sugar::bench {

namespace {

using KernelLoop = PeakKernelRun (*)(int64_t iterations, float one);

// Up to 28 zmm accumulators: AVX-512 has 32 vector registers and the loops need 2 more for their
// operands; AVX2's 16 ymm registers allow 14.
using ZmmAccumulators = std::integer_sequence<int, 4, 8, 12, 16, 20, 24, 28>;
using YmmAccumulators = std::integer_sequence<int, 4, 8, 12, 14>;

double sum_of(const float* values, int count) {
  double sum = 0;
  for (int i = 0; i < count; ++i) sum += static_cast<double>(values[i]);
  return sum;
}

// The operands are ones and the accumulators start at zero, each hidden from the optimiser by an
// empty asm that "changes" its register: otherwise it folds x * 1 + acc into an add, or sees that all
// chains compute the same value and keeps only one of them.

template <int kAccumulators>
struct Fp32FmaZmm {
  __attribute__((target("avx512f"), noinline)) static PeakKernelRun run(int64_t iterations, float one) {
    __m512 operand = _mm512_set1_ps(one);
    asm("" : "+v"(operand));
    __m512 acc[kAccumulators];
    for (int i = 0; i < kAccumulators; ++i) {
      acc[i] = _mm512_setzero_ps();
      asm("" : "+v"(acc[i]));
    }
    for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 32
      for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_fmadd_ps(operand, operand, acc[i]);
    }
    alignas(64) float lanes[kAccumulators][16];
    for (int i = 0; i < kAccumulators; ++i) _mm512_store_ps(lanes[i], acc[i]);
    return {iterations * kAccumulators * 32, sum_of(&lanes[0][0], kAccumulators * 16)};
  }
};

template <int kAccumulators>
struct Fp32FmaYmm {
  __attribute__((target("avx2,fma"), noinline)) static PeakKernelRun run(int64_t iterations, float one) {
    __m256 operand = _mm256_set1_ps(one);
    asm("" : "+x"(operand));
    __m256 acc[kAccumulators];
    for (int i = 0; i < kAccumulators; ++i) {
      acc[i] = _mm256_setzero_ps();
      asm("" : "+x"(acc[i]));
    }
    for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 32
      for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm256_fmadd_ps(operand, operand, acc[i]);
    }
    alignas(32) float lanes[kAccumulators][8];
    for (int i = 0; i < kAccumulators; ++i) _mm256_store_ps(lanes[i], acc[i]);
    return {iterations * kAccumulators * 16, sum_of(&lanes[0][0], kAccumulators * 8)};
  }
};

// vdpbf16ps: each fp32 lane adds the products of its two bf16 pairs (2 multiply-adds).
template <int kAccumulators>
struct Bf16DotZmm {
  __attribute__((target("avx512f,avx512bf16"), noinline)) static PeakKernelRun run(int64_t iterations, float one) {
    const __m512 ones = _mm512_set1_ps(one);
    __m512bh operand = _mm512_cvtne2ps_pbh(ones, ones);
    asm("" : "+v"(operand));
    __m512 acc[kAccumulators];
    for (int i = 0; i < kAccumulators; ++i) {
      acc[i] = _mm512_setzero_ps();
      asm("" : "+v"(acc[i]));
    }
    for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 32
      for (int i = 0; i < kAccumulators; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], operand, operand);
    }
    alignas(64) float lanes[kAccumulators][16];
    for (int i = 0; i < kAccumulators; ++i) _mm512_store_ps(lanes[i], acc[i]);
    return {iterations * kAccumulators * 64, sum_of(&lanes[0][0], kAccumulators * 16)};
  }
};

template <int... kCounts>
constexpr std::array<int, sizeof...(kCounts)> counts_of(std::integer_sequence<int, kCounts...>) {
  return {kCounts...};
}
// One loop per accumulator count, in the order of the counts.
template <template <int> class Loop, int... kCounts>
constexpr std::array<KernelLoop, sizeof...(kCounts)> loops_for(std::integer_sequence<int, kCounts...>) {
  return {&Loop<kCounts>::run...};
}

constexpr auto kZmmCounts = counts_of(ZmmAccumulators{});
constexpr auto kYmmCounts = counts_of(YmmAccumulators{});
constexpr auto kFp32ZmmLoops = loops_for<Fp32FmaZmm>(ZmmAccumulators{});
constexpr auto kFp32YmmLoops = loops_for<Fp32FmaYmm>(YmmAccumulators{});
constexpr auto kBf16ZmmLoops = loops_for<Bf16DotZmm>(ZmmAccumulators{});

std::span<const KernelLoop> loops_of(PeakKernel kernel) {
  switch (kernel) {
    case PeakKernel::fp32_avx512: return kFp32ZmmLoops;
    case PeakKernel::fp32_avx2: return kFp32YmmLoops;
    case PeakKernel::bf16_avx512: return kBf16ZmmLoops;
  }
  return {};
}

}  // namespace

const char* peak_kernel_isa(PeakKernel kernel) {
  switch (kernel) {
    case PeakKernel::fp32_avx512: return "avx512";
    case PeakKernel::fp32_avx2: return "avx2";
    case PeakKernel::bf16_avx512: return "avx512_bf16";
  }
  return "?";
}

const char* peak_kernel_instruction(PeakKernel kernel) {
  switch (kernel) {
    case PeakKernel::fp32_avx512: return "vfmadd231ps zmm";
    case PeakKernel::fp32_avx2: return "vfmadd231ps ymm";
    case PeakKernel::bf16_avx512: return "vdpbf16ps zmm";
  }
  return "?";
}

int64_t peak_kernel_flops_per_instruction(PeakKernel kernel) {
  switch (kernel) {
    case PeakKernel::fp32_avx512: return 16 * 2;      // 16 lanes, 1 multiply-add each
    case PeakKernel::fp32_avx2: return 8 * 2;         // 8 lanes, 1 multiply-add each
    case PeakKernel::bf16_avx512: return 16 * 2 * 2;  // 16 lanes, 2 multiply-adds each
  }
  return 0;
}

bool peak_kernel_supported(PeakKernel kernel) {
  // GCC's __builtin_cpu_supports also checks that the OS saves the registers (XCR0).
  switch (kernel) {
    case PeakKernel::fp32_avx512: return __builtin_cpu_supports("avx512f");
    case PeakKernel::fp32_avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PeakKernel::bf16_avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

std::span<const int> peak_kernel_accumulator_counts(PeakKernel kernel) {
  return kernel == PeakKernel::fp32_avx2 ? std::span<const int>(kYmmCounts) : std::span<const int>(kZmmCounts);
}

PeakKernelRun run_peak_kernel(PeakKernel kernel, int accumulators, int64_t iterations) {
  SUGAR_CHECK(peak_kernel_supported(kernel), "peak: this CPU has no ", peak_kernel_isa(kernel), " (",
              peak_kernel_instruction(kernel), ")");
  SUGAR_CHECK(iterations >= 0, "peak: iterations must be >= 0, got ", iterations);
  const std::span<const int> counts = peak_kernel_accumulator_counts(kernel);
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] == accumulators) return loops_of(kernel)[i](iterations, 1.0f);
  std::string known;
  for (int count : counts) known += (known.empty() ? "" : ", ") + std::to_string(count);
  throw Error("peak: the " + std::string(peak_kernel_isa(kernel)) + " loop is not compiled for " +
              std::to_string(accumulators) + " accumulators (it is for " + known + ")");
}

}  // namespace sugar::bench
