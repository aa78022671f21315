// conv_ceiling: how fast oneDNN's direct convolutions alone run the training passes of CIFAR
// ResNet-18 or VGG-16 on this machine, and so the images/s no framework built on them can pass
// (batch / the sum of every pass's time). Only oneDNN and the standard library: an independent
// reference for `sugar bench` and PyTorch (scripts/conv_ceiling.sh, scripts/bench_table.sh).
//
//   conv_ceiling [--model resnet18|vgg16] [--dtype f32|bf16] [--batch 128] [--threads T] [--iters 5]
//                [--warmup 1] [--json]
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "layers.hpp"
#include "passes.hpp"
#include "report.hpp"

namespace {

constexpr const char* kUsage =
    "usage: conv_ceiling [--model resnet18|vgg16] [--dtype f32|bf16] [--batch N] [--threads T] [--iters N]\n"
    "                    [--warmup N] [--json]\n"
    "Times every convolution of the model alone in its three training passes (forward, backward-data except\n"
    "for the first layer, backward-weights) with oneDNN's direct algorithm, each tensor in the layout the\n"
    "primitive prefers, and prints per layer and in total the median ms, GFLOPS and the convolution-only\n"
    "ceiling: batch / (sum of all pass times) img/s. bf16 also times backward-weights with f32 diff_weights\n"
    "and counts the faster per layer. Defaults: resnet18, f32, batch 128, threads from OMP_NUM_THREADS or\n"
    "all cores, 5 timed runs after 1 warm-up.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int whole_number(const std::string& option, const std::string& text, int low, int high) {
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < low || value > high)
    throw UsageError(option + " expects a whole number in [" + std::to_string(low) + ", " + std::to_string(high) +
                     "], got '" + text + "'");
  return static_cast<int>(value);
}

struct Arguments {
  std::string model = "resnet18";
  conv_ceiling::TimingOptions timing;
  int threads = 0;
  bool json = false;
  bool help = false;
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "--json") { a.json = true; continue; }
    if (option == "--help" || option == "-h") { a.help = true; continue; }
    if (i + 1 >= argc) throw UsageError(option == "--model" || option == "--dtype" || option == "--batch" ||
                                                option == "--threads" || option == "--iters" || option == "--warmup"
                                            ? option + " needs a value"
                                            : "unknown option '" + option + "'");
    const std::string value = argv[++i];
    if (option == "--model") {
      a.model = value;
      conv_ceiling::model_convolutions(value);  // throws std::invalid_argument for an unknown name
    } else if (option == "--dtype") {
      if (value != "f32" && value != "bf16") throw UsageError("--dtype expects f32 or bf16, got '" + value + "'");
      a.timing.dtype = value == "bf16" ? conv_ceiling::DataType::bf16 : conv_ceiling::DataType::f32;
    } else if (option == "--batch") {
      a.timing.batch = whole_number(option, value, 1, 4096);
    } else if (option == "--threads") {
      a.threads = whole_number(option, value, 1, 4096);
    } else if (option == "--iters") {
      a.timing.iters = whole_number(option, value, 1, 1000);
    } else if (option == "--warmup") {
      a.timing.warmup = whole_number(option, value, 0, 1000);
    } else {
      throw UsageError("unknown option '" + option + "'");
    }
  }
  return a;
}

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace

int main(int argc, char** argv) {
  Arguments args;
  try {
    args = parse(argc, argv);
  } catch (const std::exception& e) {  // UsageError, or std::invalid_argument for the model
    std::fprintf(stderr, "error: conv_ceiling: %s (see --help)\n", e.what());
    return 2;
  }
  if (args.help) {
    std::cout << kUsage;
    return 0;
  }
  if (args.threads > 0) omp_set_num_threads(args.threads);

  conv_ceiling::CeilingRun run;
  run.model = args.model;
  run.options = args.timing;
  run.threads = omp_get_max_threads();
  run.onednn_version = onednn_version();
  run.layers = conv_ceiling::model_convolutions(args.model);
  for (const conv_ceiling::ConvLayer& layer : run.layers) {
    std::fprintf(stderr, "conv_ceiling: %s\n", layer.name.c_str());
    try {
      run.times.push_back(conv_ceiling::time_layer(layer, args.timing));
    } catch (const dnnl::error& e) {
      std::fprintf(stderr, "error: conv_ceiling: oneDNN has no %s direct convolution for %s on this CPU (%s)\n",
                   args.timing.dtype == conv_ceiling::DataType::bf16 ? "bf16" : "f32", layer.name.c_str(), e.what());
      return 1;
    }
  }
  std::cout << (args.json ? conv_ceiling::to_json(run) + "\n" : conv_ceiling::to_text(run)) << std::flush;
  return 0;
}
