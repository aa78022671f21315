#include "cairo_canvas.hpp"

#ifdef SUGAR_HAVE_CAIRO
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "sugar/error.hpp"

namespace sugar::cli::plot {
namespace {

constexpr Rgb kPalette[] = {{0.000, 0.447, 0.698}, {0.835, 0.369, 0.000}, {0.000, 0.620, 0.451},
                            {0.800, 0.475, 0.655}, {0.337, 0.706, 0.914}, {0.902, 0.624, 0.000},
                            {0.941, 0.894, 0.259}, {0.000, 0.000, 0.000}};

// viridis at 0, 1/8, ..., 1 (matplotlib's table), interpolated linearly in between.
constexpr Rgb kViridis[] = {{0.267, 0.005, 0.329}, {0.279, 0.175, 0.483}, {0.230, 0.322, 0.546},
                            {0.173, 0.449, 0.558}, {0.128, 0.567, 0.551}, {0.153, 0.683, 0.498},
                            {0.361, 0.785, 0.388}, {0.667, 0.862, 0.196}, {0.993, 0.906, 0.144}};

}  // namespace

const Rgb& line_colour(size_t index) { return kPalette[index % std::size(kPalette)]; }

Rgb sequential_colour(double value) {
  const double x = std::clamp(value, 0.0, 1.0) * static_cast<double>(std::size(kViridis) - 1);
  const size_t i = std::min(static_cast<size_t>(x), std::size(kViridis) - 2);
  const double t = x - static_cast<double>(i);
  const Rgb& a = kViridis[i];
  const Rgb& b = kViridis[i + 1];
  return {a.r + t * (b.r - a.r), a.g + t * (b.g - a.g), a.b + t * (b.b - a.b)};
}

Canvas::Canvas(int width, int height)
    : surface_(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height)), cr_(cairo_create(surface_)) {}

Canvas::~Canvas() {
  cairo_destroy(cr_);
  cairo_surface_destroy(surface_);
}

void Canvas::save_png(const std::string& path) {
  cairo_surface_flush(surface_);
  const cairo_status_t status = cairo_surface_write_to_png(surface_, path.c_str());
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error("cannot write '" + path + "': " + cairo_status_to_string(status), ErrorKind::usage);
}

void draw_text(cairo_t* cr, const std::string& text, double x, double y, double align_x, double align_y) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  cairo_move_to(cr, x - align_x * extents.width - extents.x_bearing, y - align_y * extents.height - extents.y_bearing);
  cairo_show_text(cr, text.c_str());
}

double nice_step(double span, double target) {
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  return (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude;
}

std::vector<double> ticks(double low, double high, double step) {
  std::vector<double> values;
  // The tolerance keeps a bound that is a multiple of the step up to rounding (0.6000000000000001).
  for (double v = std::ceil(low / step - 1e-9) * step; v <= high + 1e-9 * step; v += step)
    values.push_back(std::abs(v) < 1e-9 * step ? 0.0 : std::round(v / step) * step);
  return values;
}

std::string tick_label(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

}  // namespace sugar::cli::plot
#endif  // SUGAR_HAVE_CAIRO
