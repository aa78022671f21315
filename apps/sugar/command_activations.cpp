// `sugar activations list | eval | plot`. Every value shown comes from the same code a model runs:
// `eval` and `plot` call apply_activation on a tensor and back-propagate an upstream gradient of 1,
// so for sugar(...) the "gradient" column is the surrogate's, exactly what training would see.
#include "command_activations.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "line_plot.hpp"
#include "option_checks.hpp"
#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/error.hpp"

namespace sugar::cli {
namespace {

using activations::ActivationSpec;

// Bounds that keep memory and the plot's arithmetic bounded: eval's points are a table to read, and
// a plot range beyond +-1e6 makes HIGH - LOW and the axis ticks lose all precision in float.
constexpr size_t kMaxEvalPoints = 10'000;
constexpr float kMaxPlotX = 1e6f;
constexpr size_t kMaxPlotSpecs = 16;

[[noreturn]] void usage(const std::string& message) { throw Error(message, ErrorKind::usage); }

// Shortest text that reads back to the same float: full precision without noise digits.
std::string format_float(float value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

float parse_float(std::string_view text, const std::string& what) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  float value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || result.ec != std::errc() || result.ptr != text.data() + text.size() || !std::isfinite(value))
    usage(what + ": '" + std::string(text) + "' is not a finite number");
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

activations::RandomSource random_source(uint64_t seed) {
  return activations::RandomSource{RandomStream(seed, "activations-cli"), 0};
}

// ---- list ---------------------------------------------------------------------------------------

std::string parameters_text(const activations::ActivationRow& row) {
  if (row.params.empty()) return "-";
  std::string text;
  for (const activations::ActivationParam& param : row.params) {
    if (!text.empty()) text += ", ";
    text += param.with_default();
    if (param.type == activations::ParamType::choice) text += " (" + param.allowed_values() + ")";
  }
  return text;
}

int run_list() {
  struct Line {
    std::string name, parameters, learnable, kind, doc;
  };
  std::vector<Line> lines;
  lines.push_back({"NAME", "PARAMETERS (DEFAULTS)", "LEARNABLE", "KIND", "DESCRIPTION"});
  for (const auto& row : activations::activation_rows()) {
    std::string name = row->name;
    for (const std::string& alias : row->aliases) name += ", " + alias;
    lines.push_back({name, parameters_text(*row), row->learnable ? "yes" : "no", activations::kind_name(row->kind),
                     row->doc});
  }
  size_t name_width = 0, parameters_width = 0, kind_width = 0;
  for (const Line& line : lines) {
    name_width = std::max(name_width, line.name.size());
    parameters_width = std::max(parameters_width, line.parameters.size());
    kind_width = std::max(kind_width, line.kind.size());
  }
  for (const Line& line : lines) {
    std::printf("%-*s  %-*s  %-9s  %-*s  %s\n", static_cast<int>(name_width), line.name.c_str(),
                static_cast<int>(parameters_width), line.parameters.c_str(), line.learnable.c_str(),
                static_cast<int>(kind_width), line.kind.c_str(), line.doc.c_str());
  }
  std::printf(
      "\nA spec is a name or name(key=value, ...), e.g. leaky_relu(negative_slope=0.1) or "
      "sugar(surrogate=nelu, alpha=0.1).\n");
  return 0;
}

// ---- eval ---------------------------------------------------------------------------------------

struct EvalOptions {
  std::string spec;
  std::string x = "-3,-2,-1,-0.5,0,0.5,1,2,3";
  bool train = false;
  uint64_t seed = 0;
};

int run_eval(const EvalOptions& options) {
  const ActivationSpec spec = ActivationSpec::parse(options.spec);
  const std::vector<std::string> parts = split(options.x, ',');
  if (parts.size() > kMaxEvalPoints)
    usage("activations eval --x: expected at most " + std::to_string(kMaxEvalPoints) + " points, got " +
          std::to_string(parts.size()));
  std::vector<float> x;
  for (const std::string& part : parts) x.push_back(parse_float(part, "activations eval --x"));
  const activations::PointwiseValues values =
      activations::evaluate_activation(spec, x, options.train, random_source(options.seed));
  std::string csv = "x,y,grad\n";
  for (size_t i = 0; i < x.size(); ++i)
    csv += format_float(x[i]) + "," + format_float(values.y[i]) + "," + format_float(values.grad[i]) + "\n";
  std::cout << csv << std::flush;
  return 0;
}

// ---- plot ---------------------------------------------------------------------------------------

struct PlotOptions {
  std::vector<std::string> specs;
  std::string out;
  std::string range = "-6:6";
  bool train = false;
  uint64_t seed = 0;
};

struct Curve {
  std::string label;
  std::vector<float> y, grad;
};

std::pair<float, float> parse_range(const std::string& text) {
  const std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 2) usage("activations plot --range: expected LOW:HIGH such as -6:6, got '" + text + "'");
  const float low = parse_float(parts[0], "activations plot --range");
  const float high = parse_float(parts[1], "activations plot --range");
  if (!(low < high)) usage("activations plot --range: LOW must be below HIGH, got '" + text + "'");
  if (std::fabs(low) > kMaxPlotX || std::fabs(high) > kMaxPlotX)
    usage("activations plot --range: expected LOW and HIGH in [-1000000, 1000000], got '" + text + "'");
  return {low, high};
}

// Each function solid and the gradient its backward passes dashed, in the same colour; the legend
// names both, one row per spec.
void render_plot(const std::vector<Curve>& curves, const std::vector<float>& xs, const std::string& title,
                 const std::string& path) {
  LinePlot plot;
  plot.title = title;
  plot.x_label = "x";
  plot.axes = PlotAxes::origin;
  const std::vector<double> x(xs.begin(), xs.end());
  for (size_t c = 0; c < curves.size(); ++c) {
    plot.series.push_back({x, std::vector<double>(curves[c].y.begin(), curves[c].y.end()), {}, {}, c, false, 2.4});
    plot.series.push_back(
        {x, std::vector<double>(curves[c].grad.begin(), curves[c].grad.end()), {}, {}, c, true, 1.8});
    plot.legend.push_back({{curves[c].label, c, false, 2.4, false}, {"backward gradient", c, true, 1.8, false}});
  }
  render_line_plot(plot, path);
}

int run_plot(const PlotOptions& options) {
  // Resolve everything before drawing, so a typo fails fast and nothing is written.
  std::vector<ActivationSpec> specs;
  if (options.specs.size() > kMaxPlotSpecs)
    usage("activations plot: expected at most " + std::to_string(kMaxPlotSpecs) + " specs, got " +
          std::to_string(options.specs.size()));
  for (const std::string& text : options.specs) specs.push_back(ActivationSpec::parse(text));
  const auto [low, high] = parse_range(options.range);
  if (options.out.empty()) usage("activations plot: --out FILE.png is required");
  if (!line_plots_available()) {
    throw Error("activations plot: this sugar was built without cairo (install libcairo2-dev and rebuild)",
                ErrorKind::runtime);
  }

  constexpr int kSamples = 961;
  std::vector<float> xs(kSamples);
  for (int i = 0; i < kSamples; ++i) xs[i] = low + (high - low) * static_cast<float>(i) / (kSamples - 1);
  std::vector<Curve> curves;
  for (size_t s = 0; s < specs.size(); ++s) {
    const activations::PointwiseValues values =
        activations::evaluate_activation(specs[s], xs, options.train, random_source(options.seed));
    curves.push_back({options.specs[s], values.y, values.grad});
  }
  const std::string title = (specs.size() == 1 ? options.specs[0] : std::string("Activations")) +
                            ": f(x) solid, backward gradient dashed" + (options.train ? " (training mode)" : "");
  render_plot(curves, xs, title, options.out);
  spdlog::info("wrote {}", options.out);
  return 0;
}

}  // namespace

Command add_activations_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("activations", "List, evaluate and plot the activation functions");
  app->require_subcommand(1);
  app->footer(
      "\nExamples:\n"
      "  sugar activations list\n"
      "  sugar activations eval 'sugar(surrogate=nelu, alpha=0.1)' --x=-2,-0.5,0.3,1\n"
      "  sugar activations plot bsilu nelu --out surrogates.png --range -6:6");

  CLI::App* list = app->add_subcommand("list", "Every activation: name, parameters with defaults, learnable or not");

  auto eval_options = std::make_shared<EvalOptions>();
  CLI::App* eval = app->add_subcommand(
      "eval", "CSV x,y,grad on stdout: y = f(x) and grad = what the backward sends for an upstream gradient of 1");
  eval->add_option("spec", eval_options->spec, "Activation spec, e.g. 'leaky_relu(negative_slope=0.1)'")->required();
  eval->add_option("--x", eval_options->x,
                   "Comma-separated finite points, at most 10000 (default -3,-2,-1,-0.5,0,0.5,1,2,3)")
      ->type_name("X1,X2,...");
  eval->add_flag("--train", eval_options->train, "Training mode (rrelu draws random slopes)");
  eval->add_option("--seed", eval_options->seed, "Seed of the random draws in training mode (default 0)")
      ->check(within<uint64_t>(0, std::numeric_limits<uint64_t>::max()));

  auto plot_options = std::make_shared<PlotOptions>();
  CLI::App* plot = app->add_subcommand(
      "plot", "PNG of each function (solid) and the gradient its backward passes (dashed), axes through the origin");
  plot->add_option("specs", plot_options->specs, "One to 16 activation specs")->required();
  plot->add_option("--out", plot_options->out, "Output PNG file")->required()->type_name("FILE.png");
  plot->add_option("--range", plot_options->range, "x range LOW:HIGH, each in [-1e6, 1e6] (default -6:6)")
      ->type_name("LOW:HIGH");
  plot->add_flag("--train", plot_options->train, "Training mode (rrelu draws random slopes)");
  plot->add_option("--seed", plot_options->seed, "Seed of the random draws in training mode (default 0)")
      ->check(within<uint64_t>(0, std::numeric_limits<uint64_t>::max()));

  Command command;
  command.app = app;
  command.run = [list, eval, plot, eval_options, plot_options]() -> int {
    if (list->parsed()) return run_list();
    if (eval->parsed()) return run_eval(*eval_options);
    if (plot->parsed()) return run_plot(*plot_options);
    usage("activations: expected one of list, eval, plot (see 'sugar activations --help')");
  };
  return command;
}

}  // namespace sugar::cli
