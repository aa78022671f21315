// PeakResult as JSON (for scripts/bench_table.sh's "% of peak") and as text for people.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "sugar/bench/peak.hpp"

namespace sugar::bench {

namespace {

nlohmann::json by_accumulators_json(const KernelPeak& peak) {
  nlohmann::json rows = nlohmann::json::array();
  for (const AccumulatorPeak& p : peak.by_accumulators) rows.push_back({{"accumulators", p.accumulators}, {"gflops", p.gflops}});
  return rows;
}

void add_kernel_fields(nlohmann::json& j, const std::string& prefix, const std::optional<KernelPeak>& peak) {
  if (!peak) {
    for (const char* field : {"_gflops", "_isa", "_instruction", "_accumulators"}) j[prefix + field] = nullptr;
    return;
  }
  j[prefix + "_gflops"] = peak->gflops;
  j[prefix + "_isa"] = peak_kernel_isa(peak->kernel);
  j[prefix + "_instruction"] = peak_kernel_instruction(peak->kernel);
  j[prefix + "_accumulators"] = peak->accumulators;
}

std::string kernel_lines(const char* what, const KernelPeak& peak) {
  char line[256];
  std::snprintf(line, sizeof line, "%s: %.1f GFLOPS with %d accumulators (%s, %s: %lld FLOPs each)\n", what,
                peak.gflops, peak.accumulators, peak_kernel_isa(peak.kernel), peak_kernel_instruction(peak.kernel),
                static_cast<long long>(peak_kernel_flops_per_instruction(peak.kernel)));
  std::string out = line;
  for (const AccumulatorPeak& p : peak.by_accumulators) {
    std::snprintf(line, sizeof line, "  %2d accumulators %9.1f GFLOPS\n", p.accumulators, p.gflops);
    out += line;
  }
  return out;
}

}  // namespace

std::string peak_to_json_text(const PeakResult& r) {
  nlohmann::json peak;
  peak["threads"] = r.threads;
  peak["repeats"] = r.repeats;
  add_kernel_fields(peak, "fp32", r.fp32);
  add_kernel_fields(peak, "bf16", r.bf16);
  peak["by_accumulators"] = {{"fp32", by_accumulators_json(r.fp32)},
                             {"bf16", r.bf16 ? by_accumulators_json(*r.bf16) : nlohmann::json(nullptr)}};
  return nlohmann::json{{"peak", peak}}.dump();
}

std::string peak_to_table_text(const PeakResult& r) {
  std::string out = "sugar bench --peak: register-only multiply-add loops on " + std::to_string(r.threads) +
                    " thread" + (r.threads == 1 ? "" : "s") + " at once, best of " + std::to_string(r.repeats) +
                    " runs per accumulator count (a FLOP is half a multiply-add)\n\n";
  out += kernel_lines("fp32 FMA", r.fp32);
  out += "\n";
  out += r.bf16 ? kernel_lines("bf16 dot products", *r.bf16)
                : std::string("bf16 dot products: not available (CPUID reports no AVX512_BF16)\n");
  return out;
}

}  // namespace sugar::bench
