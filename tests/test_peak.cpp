// bench::run_peak_kernel's FLOP accounting against closed forms (and against the loop's own
// accumulators, which count the multiply-adds they did), and measure_peak's JSON: every field, bf16
// present exactly when /proc/cpuinfo lists avx512_bf16, the ISA named after what /proc/cpuinfo lists.
// No speed is asserted beyond "positive".
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "sugar/bench/peak.hpp"
#include "sugar/bench/peak_kernels.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using nlohmann::json;

namespace {

// The flags of the first CPU in /proc/cpuinfo, space-padded so that " avx512f " matches whole words.
std::string cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line.substr(line.find(':') + 1) + " ";
  return "";
}

bool cpu_has(const std::string& flag) { return cpuinfo_flags().find(" " + flag + " ") != std::string::npos; }

struct KernelShape {
  bench::PeakKernel kernel;
  double lanes;              // fp32 lanes of one register
  double madds_per_lane;     // multiply-adds one instruction does per lane
  const char* cpuinfo_flag;  // what /proc/cpuinfo calls the instructions
};

const KernelShape kKernels[] = {
    {bench::PeakKernel::fp32_avx512, 16, 1, "avx512f"},
    {bench::PeakKernel::fp32_avx2, 8, 1, "avx2"},
    {bench::PeakKernel::bf16_avx512, 16, 2, "avx512_bf16"},
};

TEST(Peak, KernelFlopsAreTheClosedForm) {
  const int64_t iterations = 1000;
  for (const KernelShape& k : kKernels) {
    ASSERT_EQ(bench::peak_kernel_supported(k.kernel), cpu_has(k.cpuinfo_flag)) << bench::peak_kernel_isa(k.kernel);
    if (!bench::peak_kernel_supported(k.kernel)) continue;
    EXPECT_EQ(bench::peak_kernel_flops_per_instruction(k.kernel), 2 * k.lanes * k.madds_per_lane);
    for (int accumulators : bench::peak_kernel_accumulator_counts(k.kernel)) {
      const bench::PeakKernelRun run = bench::run_peak_kernel(k.kernel, accumulators, iterations);
      const double multiply_adds = iterations * accumulators * k.lanes * k.madds_per_lane;
      // Every product is 1 x 1, so the lanes add up to the multiply-adds done: the loop ran them all.
      EXPECT_EQ(run.lane_sum, multiply_adds) << bench::peak_kernel_isa(k.kernel) << " x" << accumulators;
      EXPECT_EQ(static_cast<double>(run.flops), 2 * multiply_adds) << bench::peak_kernel_isa(k.kernel);
    }
  }
}

TEST(Peak, KernelFlopsPerInstructionAreTheDocumentedOnes) {
  EXPECT_EQ(bench::peak_kernel_flops_per_instruction(bench::PeakKernel::fp32_avx512), 32);
  EXPECT_EQ(bench::peak_kernel_flops_per_instruction(bench::PeakKernel::fp32_avx2), 16);
  EXPECT_EQ(bench::peak_kernel_flops_per_instruction(bench::PeakKernel::bf16_avx512), 64);
  const bench::PeakKernel fp32 = bench::fp32_peak_kernel();
  EXPECT_EQ(bench::run_peak_kernel(fp32, 12, 7).flops, 7 * 12 * bench::peak_kernel_flops_per_instruction(fp32));
  EXPECT_EQ(bench::run_peak_kernel(fp32, 4, 0).flops, 0);
}

TEST(Peak, UncompiledAccumulatorCountIsAnError) {
  EXPECT_THROW(bench::run_peak_kernel(bench::fp32_peak_kernel(), 5, 10), Error);
  EXPECT_THROW(bench::run_peak_kernel(bench::fp32_peak_kernel(), 4, -1), Error);
}

TEST(Peak, JsonHasEveryFieldAndBf16ExactlyWhereTheCpuHasIt) {
  bench::PeakOptions options;
  options.threads = 1;
  options.repeats = 2;
  options.seconds_per_run = 0.002;  // a smoke run: the numbers are not the point here
  const json j = json::parse(bench::peak_to_json_text(bench::measure_peak(options)));
  ASSERT_TRUE(j.contains("peak"));
  const json& p = j["peak"];
  EXPECT_EQ(p["threads"], 1);
  EXPECT_EQ(p["repeats"], 2);
  EXPECT_EQ(p["fp32_isa"], cpu_has("avx512f") ? "avx512" : "avx2");
  EXPECT_GT(p["fp32_gflops"].get<double>(), 0);

  const auto check_sweep = [&](const char* dtype) {
    const json& rows = p["by_accumulators"][dtype];
    ASSERT_TRUE(rows.is_array()) << dtype;
    double best = 0;
    int best_accumulators = 0;
    for (const json& row : rows) {
      EXPECT_GT(row["gflops"].get<double>(), 0) << dtype;
      if (row["gflops"].get<double>() > best) {
        best = row["gflops"].get<double>();
        best_accumulators = row["accumulators"].get<int>();
      }
    }
    EXPECT_EQ(p[std::string(dtype) + "_gflops"].get<double>(), best) << dtype;
    EXPECT_EQ(p[std::string(dtype) + "_accumulators"].get<int>(), best_accumulators) << dtype;
  };
  check_sweep("fp32");
  EXPECT_EQ(p["by_accumulators"]["fp32"].size(), cpu_has("avx512f") ? 7u : 4u);

  if (cpu_has("avx512_bf16")) {
    EXPECT_EQ(p["bf16_isa"], "avx512_bf16");
    EXPECT_EQ(p["bf16_instruction"], "vdpbf16ps zmm");
    check_sweep("bf16");
  } else {
    EXPECT_TRUE(p["bf16_gflops"].is_null());
    EXPECT_TRUE(p["bf16_isa"].is_null());
    EXPECT_TRUE(p["by_accumulators"]["bf16"].is_null());
  }
}

TEST(Peak, TableNamesWhatWasMeasured) {
  bench::PeakOptions options;
  options.threads = 1;
  options.repeats = 1;
  options.seconds_per_run = 0.001;
  const std::string text = bench::peak_to_table_text(bench::measure_peak(options));
  EXPECT_NE(text.find("fp32 FMA: "), std::string::npos) << text;
  EXPECT_NE(text.find(cpu_has("avx512f") ? "vfmadd231ps zmm" : "vfmadd231ps ymm"), std::string::npos) << text;
  EXPECT_NE(text.find(cpu_has("avx512_bf16") ? "vdpbf16ps zmm" : "bf16 dot products: not available"),
            std::string::npos)
      << text;
}

}  // namespace
