#pragma once
// Register-only loops that keep the CPU's multiply-add units busy and nothing else: `sugar bench
// --peak` times them to get this machine's arithmetic peak. Each loop updates `accumulators`
// independent vector registers once per iteration with one instruction each:
//   fp32_avx512  vfmadd231ps zmm  (16 lanes x 1 multiply-add = 32 FLOPs)
//   fp32_avx2    vfmadd231ps ymm  ( 8 lanes x 1 multiply-add = 16 FLOPs)
//   bf16_avx512  vdpbf16ps zmm    (16 lanes x 2 multiply-adds = 64 FLOPs)
// A FLOP is half a multiply-add, as in every GFLOPS figure of the field (and in nn/direct_flops.hpp).
//
// One chain per register: an FMA's result is ready only after its latency (4 cycles on recent
// x86), so a core with two FMA pipes needs at least 2 x 4 = 8 chains in flight to issue every cycle;
// fewer measures the latency, not the throughput. The loops are compiled for several chain counts
// so that the measurement can show where more chains stop helping.
//
// Each kernel is compiled with a per-function target attribute, so the rest of Sugar stays generic
// (x86-64-v3); call one only where peak_kernel_supported() says the CPU has its instructions.
#include <cstdint>
#include <span>

namespace sugar::bench {

enum class PeakKernel { fp32_avx512, fp32_avx2, bf16_avx512 };

// "avx512", "avx2", "avx512_bf16": the instruction set a kernel measures.
const char* peak_kernel_isa(PeakKernel kernel);
// "vfmadd231ps zmm", ...: the instruction in the loop.
const char* peak_kernel_instruction(PeakKernel kernel);
// FLOPs one instruction of the kernel does (32, 16, 64).
int64_t peak_kernel_flops_per_instruction(PeakKernel kernel);
// Whether CPUID (and the OS's saved register state) says this CPU can run the kernel.
bool peak_kernel_supported(PeakKernel kernel);
// The accumulator counts the kernel is compiled for, ascending.
std::span<const int> peak_kernel_accumulator_counts(PeakKernel kernel);

struct PeakKernelRun {
  int64_t flops = 0;  // iterations x accumulators x FLOPs per instruction
  // The sum of every lane of every accumulator at the end. Every multiplication in the loop is 1 x 1,
  // so each lane ends holding the number of multiply-adds it did (while that stays below 2^24, where
  // adding 1 to a float stops changing it): an independent witness of the work done.
  double lane_sum = 0;
};

// Runs the kernel's loop for `iterations` iterations with `accumulators` chains (one of
// peak_kernel_accumulator_counts) on the calling thread. Throws sugar::Error for a count it is not
// compiled for or a kernel this CPU lacks.
PeakKernelRun run_peak_kernel(PeakKernel kernel, int accumulators, int64_t iterations);

}  // namespace sugar::bench
