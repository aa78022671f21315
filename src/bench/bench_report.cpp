// BenchResult as JSON (one line, for scripts and the PyTorch comparison) and as a table for people.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "sugar/bench/bench.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/runtime.hpp"

namespace sugar::bench {

namespace {

std::string format(const char* pattern, auto... values) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, pattern, values...);
  return buffer;
}

// 11173962 -> "11,173,962".
std::string thousands(int64_t value) {
  std::string digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

}  // namespace

std::string to_json_text(const BenchResult& r) {
  const BenchOptions& o = r.options;
  const config::ExperimentConfig& c = o.config;
  nlohmann::json j;
  j["framework"] = "sugar " + sugar_version();
  j["model"] = c.model.name;
  j["activation"] = c.model.activation;
  j["dtype"] = dtype_name(c.train.dtype);
  j["phase"] = phase_name(o.phase);
  j["batch"] = c.train.batch_size;
  j["classes"] = r.classes;
  j["image"] = {r.image.channels, r.image.height, r.image.width};
  j["optimizer"] = name_of(c.optim.name);
  j["threads"] = r.threads;
  j["warmup"] = o.warmup;
  j["iters"] = o.iters;
  j["fusion"] = o.fusion;
  j["recompute"] = r.recompute;
  j["parameters"] = r.parameters;
  j["imgs_per_sec"] = r.imgs_per_sec;
  j["gflop_per_image"] = r.gflop_per_image;
  j["achieved_gflops"] = r.achieved_gflops;
  double min_s = r.step_seconds.front(), max_s = r.step_seconds.front();
  nlohmann::json steps = nlohmann::json::array();
  for (double s : r.step_seconds) {
    steps.push_back(s * 1e3);
    min_s = std::min(min_s, s);
    max_s = std::max(max_s, s);
  }
  j["step_ms"] = {{"median", r.median_step_ms}, {"mean", r.mean_step_ms}, {"min", min_s * 1e3}, {"max", max_s * 1e3}};
  j["steps_ms"] = steps;
  nlohmann::json breakdown = nlohmann::json::object();
  for (const OpShare& s : r.breakdown)
    breakdown[s.kind] = {{"ms", s.ms_per_step}, {"fraction", s.fraction}, {"calls", s.calls_per_step}};
  j["breakdown"] = breakdown;
  j["peak_rss_mib"] = r.peak_rss_mib;
  j["peak_tensor_mib"] = r.peak_tensor_mib;
  j["onednn"] = {{"version", r.onednn_version}, {"isa", r.cpu_isa}, {"implementations", r.implementations}};
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [path, choice] : r.conv_algorithms) layers[path] = nlohmann::json::parse(ops::to_json_text(choice));
  j["conv_algo"] = {{"policy", ops::conv_algo_policy_name(c.train.conv_algo)}, {"layers", layers}};
  return j.dump();
}

std::string to_table_text(const BenchResult& r) {
  const BenchOptions& o = r.options;
  const config::ExperimentConfig& c = o.config;
  std::string out;
  out += format("sugar bench: %s (%s parameters), activation %s, %s, %s, batch %lld of %dx%dx%d images, %lld "
                "classes, %s, %d thread%s\n",
                c.model.name.c_str(), thousands(r.parameters).c_str(), c.model.activation.c_str(),
                dtype_name(c.train.dtype), phase_name(o.phase), static_cast<long long>(c.train.batch_size),
                r.image.channels, r.image.height, r.image.width, static_cast<long long>(r.classes),
                name_of(c.optim.name).c_str(), r.threads, r.threads == 1 ? "" : "s");
  if (o.phase == Phase::infer)
    out += o.fusion ? "batch norms folded into convolutions, activations fused where oneDNN can\n"
                    : "no fusion: every layer runs by itself (--no-fusion)\n";
  else if (!o.fusion)
    out += "no fusion: batch norm and ReLU run one after the other (--no-fusion)\n";
  if (o.phase == Phase::train && !r.recompute)
    out += "no recomputation: batch-norm and activation outputs are kept for the backward (--no-recompute; the "
           "default for bf16)\n";
  out += format("%.1f img/s (median of %lld timed steps after %lld warm-up); step %.1f ms median, %.1f ms mean\n",
                r.imgs_per_sec, static_cast<long long>(o.iters), static_cast<long long>(o.warmup), r.median_step_ms,
                r.mean_step_ms);
  out += format("%.3f GFLOP per image counted as direct convolution, %.1f GFLOPS achieved (divide by `sugar bench\n"
                "--peak` for the fraction of this CPU's peak; Winograd does fewer multiplies, so it can pass 100%%)\n",
                r.gflop_per_image, r.achieved_gflops);
  out += "\n";
  out += format("%-24s %10s %7s %10s\n", "op kind", "ms/step", "share", "calls/step");
  for (const OpShare& s : r.breakdown) {
    if (s.kind != "other" && s.calls_per_step == 0) continue;  // kinds this model does not use
    const std::string calls = s.kind == "other" ? "" : format("%.0f", s.calls_per_step);
    out += format("%-24s %10.1f %6.1f%% %10s\n", s.kind.c_str(), s.ms_per_step, 100.0 * s.fraction, calls.c_str());
  }
  out += "\n";
  out += format("peak RSS %.0f MiB (tensors at most %.0f MiB at once)\n", r.peak_rss_mib, r.peak_tensor_mib);
  out += "oneDNN " + r.onednn_version + ", ISA " + r.cpu_isa + "; implementations (primitives):\n";
  for (const auto& [op, implementations] : r.implementations) {
    std::string line = "  " + op + ":";
    for (const auto& [name, count] : implementations) line += " " + name + " x" + std::to_string(count);
    out += line + "\n";
  }
  out += std::string("convolution algorithms (") + ops::conv_algo_policy_name(c.train.conv_algo) +
         "; forward/backward-data/backward-weights, d = direct, W = Winograd; * = provisional):\n";
  out += nn::conv_algorithm_lines(r.conv_algorithms);
  return out;
}

}  // namespace sugar::bench
