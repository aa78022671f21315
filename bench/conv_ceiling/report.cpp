#include "report.hpp"

#include <algorithm>
#include <cstdio>

namespace conv_ceiling {

namespace {

std::string format(const char* pattern, auto... values) {
  std::string out(static_cast<size_t>(std::snprintf(nullptr, 0, pattern, values...)), '\0');
  std::snprintf(out.data(), out.size() + 1, pattern, values...);
  return out;
}

const char* dtype_name(DataType type) { return type == DataType::bf16 ? "bf16" : "f32"; }

// The backward-weights time a training step would pay: bf16 picks the faster diff_weights type.
double best_backward_weights_ms(const LayerTimes& t) {
  return t.backward_weights_f32 ? std::min(t.backward_weights.ms, t.backward_weights_f32->ms) : t.backward_weights.ms;
}

double gflops(double flops_per_image, int batch, double ms) { return flops_per_image * batch / (ms * 1e6); }

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

std::string pass_json(const PassTime& pass, double flops_per_image, int batch) {
  return format("{\"ms\":%.4f,\"gflops\":%.2f,\"implementation\":%s}", pass.ms, gflops(flops_per_image, batch, pass.ms),
                json_string(pass.implementation).c_str());
}

}  // namespace

CeilingTotals totals_of(const CeilingRun& run) {
  CeilingTotals total;
  for (size_t i = 0; i < run.layers.size(); ++i) {
    const LayerTimes& t = run.times[i];
    const double pass_gflop = run.layers[i].flops_per_image_pass() / 1e9;
    total.forward_ms += t.forward.ms;
    total.gflop_per_image += 2 * pass_gflop;
    if (t.backward_data) {
      total.backward_data_ms += t.backward_data->ms;
      total.gflop_per_image += pass_gflop;
    }
    total.backward_weights_ms += best_backward_weights_ms(t);
    if (t.backward_weights_f32) {
      total.backward_weights_bf16_ms += t.backward_weights.ms;
      total.backward_weights_f32_ms += t.backward_weights_f32->ms;
    }
  }
  return total;
}

std::string to_text(const CeilingRun& run) {
  const TimingOptions& o = run.options;
  const bool bf16 = o.dtype == DataType::bf16;
  std::string out = format(
      "conv_ceiling: %s convolutions, %s, batch %d, %d thread%s, oneDNN %s, direct algorithm, every tensor in the "
      "layout its primitive prefers (buffers advised for huge pages); median of %d runs after %d warm-up\n\n",
      run.model.c_str(), dtype_name(o.dtype), o.batch, run.threads, run.threads == 1 ? "" : "s",
      run.onednn_version.c_str(), o.iters, o.warmup);
  // bf16: backward-weights with bf16 diff_weights, then with f32 diff_weights.
  out += format("%-20s %-22s %10s %10s %12s", "layer", "shape", "fwd ms", "bwd-data", bf16 ? "bwd-wts bf16" : "bwd-wts");
  if (bf16) out += format(" %12s", "bwd-wts f32");
  out += format(" %9s %9s %9s\n", "fwd GF/s", "bwd-d", "bwd-w");
  for (size_t i = 0; i < run.layers.size(); ++i) {
    const ConvLayer& l = run.layers[i];
    const LayerTimes& t = run.times[i];
    const double f = l.flops_per_image_pass();
    const std::string shape = format("%d->%d %dx%d k%d s%d", l.in_channels, l.out_channels, l.in_side, l.in_side,
                                     l.kernel, l.stride);
    out += format("%-20s %-22s %10.2f %10s %12.2f", l.name.c_str(), shape.c_str(), t.forward.ms,
                  t.backward_data ? format("%.2f", t.backward_data->ms).c_str() : "-", t.backward_weights.ms);
    if (bf16) out += format(" %12.2f", t.backward_weights_f32->ms);
    out += format(" %9.1f %9s %9.1f\n", gflops(f, o.batch, t.forward.ms),
                  t.backward_data ? format("%.1f", gflops(f, o.batch, t.backward_data->ms)).c_str() : "-",
                  gflops(f, o.batch, best_backward_weights_ms(t)));
  }
  const CeilingTotals total = totals_of(run);
  out += format("\ntotal: forward %.1f ms + backward-data %.1f ms + backward-weights %.1f ms = %.1f ms per batch of %d\n",
                total.forward_ms, total.backward_data_ms, total.backward_weights_ms, total.ms(), o.batch);
  if (bf16)
    out += format("backward-weights with bf16 diff_weights %.1f ms, with f32 diff_weights %.1f ms (the total takes the "
                  "faster per layer)\n",
                  total.backward_weights_bf16_ms, total.backward_weights_f32_ms);
  out += format("%.4f GFLOP per image (direct), %.1f GFLOPS, convolution-only ceiling %.1f img/s\n",
                total.gflop_per_image, gflops(total.gflop_per_image * 1e9, o.batch, total.ms()), o.batch / (total.ms() / 1e3));
  return out;
}

std::string to_json(const CeilingRun& run) {
  const TimingOptions& o = run.options;
  std::string layers;
  for (size_t i = 0; i < run.layers.size(); ++i) {
    const ConvLayer& l = run.layers[i];
    const LayerTimes& t = run.times[i];
    const double f = l.flops_per_image_pass();
    layers += format("%s{\"name\":%s,\"in_channels\":%d,\"out_channels\":%d,\"kernel\":%d,\"stride\":%d,"
                     "\"padding\":%d,\"in_side\":%d,\"out_side\":%d,\"bias\":%s,\"gflop_per_image_pass\":%.6f,",
                     i ? "," : "", json_string(l.name).c_str(), l.in_channels, l.out_channels, l.kernel, l.stride,
                     l.padding, l.in_side, l.out_side(), l.bias ? "true" : "false", f / 1e9);
    layers += "\"forward\":" + pass_json(t.forward, f, o.batch);
    layers += ",\"backward_data\":" + (t.backward_data ? pass_json(*t.backward_data, f, o.batch) : "null");
    layers += ",\"backward_weights\":" + pass_json(t.backward_weights, f, o.batch);
    layers += ",\"backward_weights_f32_diff_weights\":" +
              (t.backward_weights_f32 ? pass_json(*t.backward_weights_f32, f, o.batch) : "null") + "}";
  }
  const CeilingTotals total = totals_of(run);
  std::string diff_weights = "null";
  if (o.dtype == DataType::bf16)
    diff_weights = format("{\"bf16_ms\":%.4f,\"f32_ms\":%.4f,\"faster\":\"%s\"}", total.backward_weights_bf16_ms,
                          total.backward_weights_f32_ms,
                          total.backward_weights_f32_ms < total.backward_weights_bf16_ms ? "f32" : "bf16");
  return format("{\"conv_ceiling\":{\"model\":%s,\"dtype\":\"%s\",\"batch\":%d,\"threads\":%d,\"warmup\":%d,"
                "\"iters\":%d,\"onednn\":%s,\"algorithm\":\"direct\",",
                json_string(run.model).c_str(), dtype_name(o.dtype), o.batch, run.threads, o.warmup, o.iters,
                json_string(run.onednn_version).c_str()) +
         "\"layers\":[" + layers + "]," +
         format("\"total\":{\"forward_ms\":%.4f,\"backward_data_ms\":%.4f,\"backward_weights_ms\":%.4f,\"ms\":%.4f,"
                "\"gflop_per_image\":%.6f,\"gflops\":%.2f,\"img_per_s\":%.3f},",
                total.forward_ms, total.backward_data_ms, total.backward_weights_ms, total.ms(), total.gflop_per_image,
                gflops(total.gflop_per_image * 1e9, o.batch, total.ms()), o.batch / (total.ms() / 1e3)) +
         "\"backward_weights_by_diff_weights\":" + diff_weights + "}}";
}

}  // namespace conv_ceiling
