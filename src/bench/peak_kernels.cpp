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

// What a loop did: iterations x accumulators instructions, and its lanes' sum (PeakKernelRun::lane_sum).
struct LoopRun {
  int64_t instructions = 0;
  double lane_sum = 0;
};
using KernelLoop = LoopRun (*)(int64_t iterations, float one);

// Up to 28 zmm accumulators: AVX-512 has 32 vector registers and the loops need 2 more for their
// operands; AVX2's 16 ymm registers allow 14.
using ZmmAccumulators = std::integer_sequence<int, 4, 8, 12, 16, 20, 24, 28>;
using YmmAccumulators = std::integer_sequence<int, 4, 8, 12, 14>;

double sum_of(const float* values, int count) {
  double sum = 0;
  for (int i = 0; i < count; ++i) sum += static_cast<double>(values[i]);
  return sum;
}

// Defines the struct template `Name<kAccumulators>` whose run() is one ISA's register loop. A macro
// because the target attribute that lets a function use an ISA's intrinsics cannot depend on a template
// parameter, and a function without it cannot inline them: one body, written once, for every ISA.
//
// The operand is ones and the accumulators start at zero, each hidden from the optimiser by an empty
// asm that "changes" its register (`constraint`: "+v" for zmm, "+x" for ymm): otherwise it folds
// 1 x 1 + acc into an add, or sees that all chains compute the same value and keeps only one.
// `operand_from_one` and `multiply_add` are expressions over `one`, `operand` and `acc[i]`.
#define SUGAR_PEAK_KERNEL(Name, isa, Vector, lanes, constraint, zero, store, operand_from_one, multiply_add)    \
  template <int kAccumulators>                                                                                 \
  struct Name {                                                                                                \
    __attribute__((target(isa), noinline)) static LoopRun run(int64_t iterations, float one) {                 \
      auto operand = operand_from_one;                                                                         \
      asm("" : constraint(operand));                                                                           \
      Vector acc[kAccumulators];                                                                               \
      for (int i = 0; i < kAccumulators; ++i) {                                                                \
        acc[i] = zero();                                                                                       \
        asm("" : constraint(acc[i]));                                                                          \
      }                                                                                                        \
      for (int64_t it = 0; it < iterations; ++it) {                                                            \
        _Pragma("GCC unroll 32") for (int i = 0; i < kAccumulators; ++i) acc[i] = multiply_add;                 \
      }                                                                                                        \
      alignas(64) float lane_values[kAccumulators][lanes];                                                     \
      for (int i = 0; i < kAccumulators; ++i) store(lane_values[i], acc[i]);                                   \
      return {iterations * kAccumulators, sum_of(&lane_values[0][0], kAccumulators * (lanes))};                \
    }                                                                                                          \
  };

// vfmadd231ps zmm: 16 lanes x 1 multiply-add.
SUGAR_PEAK_KERNEL(Fp32FmaZmm, "avx512f", __m512, 16, "+v", _mm512_setzero_ps, _mm512_store_ps,
                  _mm512_set1_ps(one), _mm512_fmadd_ps(operand, operand, acc[i]))
// vfmadd231ps ymm: 8 lanes x 1 multiply-add.
SUGAR_PEAK_KERNEL(Fp32FmaYmm, "avx2,fma", __m256, 8, "+x", _mm256_setzero_ps, _mm256_store_ps,
                  _mm256_set1_ps(one), _mm256_fmadd_ps(operand, operand, acc[i]))
// vdpbf16ps zmm: each of 16 fp32 lanes adds the products of its two bf16 pairs (2 multiply-adds).
SUGAR_PEAK_KERNEL(Bf16DotZmm, "avx512f,avx512bf16", __m512, 16, "+v", _mm512_setzero_ps, _mm512_store_ps,
                  _mm512_cvtne2ps_pbh(_mm512_set1_ps(one), _mm512_set1_ps(one)),
                  _mm512_dpbf16_ps(acc[i], operand, operand))
#undef SUGAR_PEAK_KERNEL

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

// What each PeakKernel is, in the enum's order (one row per kernel: a kernel added without its row
// fails the static_assert).
struct KernelFacts {
  const char* isa;
  const char* instruction;
  int64_t flops_per_instruction;  // lanes x multiply-adds per lane x 2
  std::span<const int> accumulator_counts;
  std::span<const KernelLoop> loops;  // one per count
};
constexpr std::array<KernelFacts, 3> kKernelFacts{{
    {"avx512", "vfmadd231ps zmm", 16 * 1 * 2, kZmmCounts, kFp32ZmmLoops},     // PeakKernel::fp32_avx512
    {"avx2", "vfmadd231ps ymm", 8 * 1 * 2, kYmmCounts, kFp32YmmLoops},        // PeakKernel::fp32_avx2
    {"avx512_bf16", "vdpbf16ps zmm", 16 * 2 * 2, kZmmCounts, kBf16ZmmLoops},  // PeakKernel::bf16_avx512
}};
static_assert(static_cast<size_t>(PeakKernel::bf16_avx512) + 1 == kKernelFacts.size());

const KernelFacts& facts_of(PeakKernel kernel) { return kKernelFacts[static_cast<size_t>(kernel)]; }

}  // namespace

const char* peak_kernel_isa(PeakKernel kernel) { return facts_of(kernel).isa; }
const char* peak_kernel_instruction(PeakKernel kernel) { return facts_of(kernel).instruction; }
int64_t peak_kernel_flops_per_instruction(PeakKernel kernel) { return facts_of(kernel).flops_per_instruction; }
std::span<const int> peak_kernel_accumulator_counts(PeakKernel kernel) { return facts_of(kernel).accumulator_counts; }

bool peak_kernel_supported(PeakKernel kernel) {
  // GCC's __builtin_cpu_supports also checks that the OS saves the registers (XCR0).
  switch (kernel) {
    case PeakKernel::fp32_avx512: return __builtin_cpu_supports("avx512f");
    case PeakKernel::fp32_avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PeakKernel::bf16_avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  }
  return false;
}

PeakKernelRun run_peak_kernel(PeakKernel kernel, int accumulators, int64_t iterations) {
  SUGAR_CHECK(peak_kernel_supported(kernel), "peak: this CPU has no ", peak_kernel_isa(kernel), " (",
              peak_kernel_instruction(kernel), ")");
  SUGAR_CHECK(iterations >= 0, "peak: iterations must be >= 0, got ", iterations);
  const std::span<const int> counts = peak_kernel_accumulator_counts(kernel);
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] == accumulators) {
      const LoopRun run = facts_of(kernel).loops[i](iterations, 1.0f);
      return {run.instructions * peak_kernel_flops_per_instruction(kernel), run.lane_sum};
    }
  std::string known;
  for (int count : counts) known += (known.empty() ? "" : ", ") + std::to_string(count);
  throw Error("peak: the " + std::string(peak_kernel_isa(kernel)) + " loop is not compiled for " +
              std::to_string(accumulators) + " accumulators (it is for " + known + ")");
}

}  // namespace sugar::bench
