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
#include <string>
#include <vector>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/error.hpp"

#ifdef SUGAR_HAVE_CAIRO
#include <cairo.h>
#endif

namespace sugar::cli {
namespace {

using activations::ActivationSpec;

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
  std::vector<float> x;
  for (const std::string& part : split(options.x, ',')) x.push_back(parse_float(part, "activations eval --x"));
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
  return {low, high};
}

#ifdef SUGAR_HAVE_CAIRO

// A round tick spacing (1, 2 or 5 times a power of ten) giving about `target` ticks over `span`.
double nice_step(double span, double target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  return (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
}

std::vector<double> ticks(double low, double high, double step) {
  std::vector<double> values;
  for (double v = std::ceil(low / step) * step; v <= high + 1e-9 * step; v += step)
    values.push_back(std::abs(v) < 1e-9 * step ? 0.0 : std::round(v / step) * step);
  return values;
}

std::string tick_label(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

struct Rgb {
  double r, g, b;
};
// Colour-blind-safe palette (Okabe-Ito).
constexpr Rgb kPalette[] = {{0.000, 0.447, 0.698}, {0.835, 0.369, 0.000}, {0.000, 0.620, 0.451},
                            {0.800, 0.475, 0.655}, {0.337, 0.706, 0.914}, {0.902, 0.624, 0.000},
                            {0.941, 0.894, 0.259}, {0.000, 0.000, 0.000}};

class Canvas {
 public:
  Canvas(int width, int height)
      : surface_(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height)), cr_(cairo_create(surface_)) {}
  ~Canvas() {
    cairo_destroy(cr_);
    cairo_surface_destroy(surface_);
  }
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  cairo_t* cr() const { return cr_; }
  void save_png(const std::string& path) {
    cairo_surface_flush(surface_);
    const cairo_status_t status = cairo_surface_write_to_png(surface_, path.c_str());
    if (status != CAIRO_STATUS_SUCCESS)
      usage("activations plot: cannot write '" + path + "': " + cairo_status_to_string(status));
  }

 private:
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

void draw_text(cairo_t* cr, const std::string& text, double x, double y, double align_x, double align_y) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - align_x * extents.width - extents.x_bearing, y - align_y * extents.height - extents.y_bearing);
  cairo_show_text(cr, text.c_str());
}

void render_plot(const std::vector<Curve>& curves, const std::vector<float>& xs, const std::string& title,
                 const std::string& path) {
  constexpr int kWidth = 960;
  constexpr double kLeft = 70, kRight = kWidth - 30, kTop = 60, kBottom = 590;
  constexpr double kLegendTop = kBottom + 36, kLegendRow = 22;
  const int height = static_cast<int>(kLegendTop + kLegendRow * curves.size() + 24);

  const double x_low = xs.front(), x_high = xs.back();
  double y_low = 0, y_high = 0;  // the x axis is always in view
  for (const Curve& curve : curves)
    for (const std::vector<float>* values : {&curve.y, &curve.grad})
      for (float v : *values)
        if (std::isfinite(v)) {
          y_low = std::min(y_low, static_cast<double>(v));
          y_high = std::max(y_high, static_cast<double>(v));
        }
  if (y_high - y_low < 1e-6) y_high = y_low + 1;
  const double pad = 0.08 * (y_high - y_low);
  y_low -= pad;
  y_high += pad;

  auto px = [&](double x) { return kLeft + (x - x_low) / (x_high - x_low) * (kRight - kLeft); };
  auto py = [&](double y) { return kBottom - (y - y_low) / (y_high - y_low) * (kBottom - kTop); };

  Canvas canvas(kWidth, height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  // Grid at the ticks, then the axes through the origin (or along the border when 0 is not in view).
  const double x_step = nice_step(x_high - x_low, 10), y_step = nice_step(y_high - y_low, 8);
  const std::vector<double> x_ticks = ticks(x_low, x_high, x_step), y_ticks = ticks(y_low, y_high, y_step);
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
  for (double t : x_ticks) {
    cairo_move_to(cr, std::round(px(t)) + 0.5, kTop);
    cairo_line_to(cr, std::round(px(t)) + 0.5, kBottom);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, kLeft, std::round(py(t)) + 0.5);
    cairo_line_to(cr, kRight, std::round(py(t)) + 0.5);
  }
  cairo_stroke(cr);

  const double axis_x = std::round(px(x_low <= 0 && 0 <= x_high ? 0.0 : x_low)) + 0.5;
  const double axis_y = std::round(py(0.0)) + 0.5;
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1.2);
  cairo_move_to(cr, kLeft, axis_y);
  cairo_line_to(cr, kRight, axis_y);
  cairo_move_to(cr, axis_x, kTop);
  cairo_line_to(cr, axis_x, kBottom);
  cairo_stroke(cr);

  cairo_set_font_size(cr, 12);
  for (double t : x_ticks) {
    cairo_move_to(cr, px(t), axis_y - 4);
    cairo_line_to(cr, px(t), axis_y + 4);
    if (t != 0.0 || axis_x != std::round(px(0.0)) + 0.5) draw_text(cr, tick_label(t), px(t), axis_y + 8, 0.5, 0.0);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, axis_x - 4, py(t));
    cairo_line_to(cr, axis_x + 4, py(t));
    if (t != 0.0) draw_text(cr, tick_label(t), axis_x - 8, py(t), 1.0, 0.5);
  }
  cairo_stroke(cr);
  if (axis_x == std::round(px(0.0)) + 0.5) draw_text(cr, "0", axis_x - 6, axis_y + 8, 1.0, 0.0);
  cairo_set_font_size(cr, 14);
  draw_text(cr, "x", kRight, axis_y - 8, 1.0, 1.0);

  // Curves: the function solid, the gradient its backward passes dashed, in the same colour.
  cairo_save(cr);
  cairo_rectangle(cr, kLeft, kTop, kRight - kLeft, kBottom - kTop);
  cairo_clip(cr);
  const double dash[] = {8.0, 5.0};
  for (size_t c = 0; c < curves.size(); ++c) {
    const Rgb colour = kPalette[c % std::size(kPalette)];
    cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
    for (int pass = 0; pass < 2; ++pass) {
      const std::vector<float>& values = pass == 0 ? curves[c].y : curves[c].grad;
      cairo_set_line_width(cr, pass == 0 ? 2.4 : 1.8);
      cairo_set_dash(cr, dash, pass == 0 ? 0 : 2, 0);
      bool drawing = false;
      for (size_t i = 0; i < xs.size(); ++i) {
        if (!std::isfinite(values[i])) {
          drawing = false;
          continue;
        }
        if (drawing)
          cairo_line_to(cr, px(xs[i]), py(values[i]));
        else
          cairo_move_to(cr, px(xs[i]), py(values[i]));
        drawing = true;
      }
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);
  cairo_set_dash(cr, dash, 0, 0);

  // Legend under the plot, one row per spec, so that it never hides a curve or a tick label.
  cairo_set_font_size(cr, 13);
  double label_width = 0;
  for (const Curve& curve : curves) {
    cairo_text_extents_t extents;
    cairo_text_extents(cr, curve.label.c_str(), &extents);
    label_width = std::max(label_width, extents.x_advance);
  }
  for (size_t c = 0; c < curves.size(); ++c) {
    const Rgb colour = kPalette[c % std::size(kPalette)];
    const double row_y = kLegendTop + kLegendRow * (c + 0.5);
    double x = kLeft;
    for (int pass = 0; pass < 2; ++pass) {
      cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
      cairo_set_line_width(cr, pass == 0 ? 2.4 : 1.8);
      cairo_set_dash(cr, dash, pass == 0 ? 0 : 2, 0);
      cairo_move_to(cr, x, row_y);
      cairo_line_to(cr, x + 34, row_y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      draw_text(cr, pass == 0 ? curves[c].label : "backward gradient", x + 44, row_y, 0.0, 0.5);
      x += 44 + label_width + 36;
    }
  }
  cairo_set_dash(cr, dash, 0, 0);

  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 17);
  draw_text(cr, title, kWidth / 2.0, 22, 0.5, 0.0);

  canvas.save_png(path);
}

#endif  // SUGAR_HAVE_CAIRO

int run_plot(const PlotOptions& options) {
  // Resolve everything before drawing, so a typo fails fast and nothing is written.
  std::vector<ActivationSpec> specs;
  for (const std::string& text : options.specs) specs.push_back(ActivationSpec::parse(text));
  const auto [low, high] = parse_range(options.range);
  if (options.out.empty()) usage("activations plot: --out FILE.png is required");

  constexpr int kSamples = 961;
  std::vector<float> xs(kSamples);
  for (int i = 0; i < kSamples; ++i) xs[i] = low + (high - low) * static_cast<float>(i) / (kSamples - 1);
  std::vector<Curve> curves;
  for (size_t s = 0; s < specs.size(); ++s) {
    const activations::PointwiseValues values =
        activations::evaluate_activation(specs[s], xs, options.train, random_source(options.seed));
    curves.push_back({options.specs[s], values.y, values.grad});
  }
#ifdef SUGAR_HAVE_CAIRO
  const std::string title = (specs.size() == 1 ? options.specs[0] : std::string("Activations")) +
                            ": f(x) solid, backward gradient dashed" + (options.train ? " (training mode)" : "");
  render_plot(curves, xs, title, options.out);
  spdlog::info("wrote {}", options.out);
  return 0;
#else
  throw Error("activations plot: this sugar was built without cairo (install libcairo2-dev and rebuild)",
              ErrorKind::runtime);
#endif
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
  eval->add_option("--x", eval_options->x, "Comma-separated points (default -3,-2,-1,-0.5,0,0.5,1,2,3)")
      ->type_name("X1,X2,...");
  eval->add_flag("--train", eval_options->train, "Training mode (rrelu draws random slopes)");
  eval->add_option("--seed", eval_options->seed, "Seed of the random draws in training mode (default 0)");

  auto plot_options = std::make_shared<PlotOptions>();
  CLI::App* plot = app->add_subcommand(
      "plot", "PNG of each function (solid) and the gradient its backward passes (dashed), axes through the origin");
  plot->add_option("specs", plot_options->specs, "One or more activation specs")->required();
  plot->add_option("--out", plot_options->out, "Output PNG file")->required()->type_name("FILE.png");
  plot->add_option("--range", plot_options->range, "x range LOW:HIGH (default -6:6)")->type_name("LOW:HIGH");
  plot->add_flag("--train", plot_options->train, "Training mode (rrelu draws random slopes)");
  plot->add_option("--seed", plot_options->seed, "Seed of the random draws in training mode (default 0)");

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
