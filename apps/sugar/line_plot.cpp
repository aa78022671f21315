#include "line_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <numbers>

#include "cairo_canvas.hpp"
#include "sugar/error.hpp"

namespace sugar::cli {

#ifdef SUGAR_HAVE_CAIRO
namespace {

using plot::Canvas;
using plot::draw_text;
using plot::nice_step;
using plot::Rgb;
using plot::tick_label;
using plot::ticks;

constexpr double kBandAlpha = 0.18;
constexpr double kDash[] = {8.0, 5.0};

const Rgb& colour_of(size_t index) { return plot::line_colour(index); }

void set_stroke(cairo_t* cr, size_t colour, bool dashed, double width) {
  const Rgb& c = colour_of(colour);
  cairo_set_source_rgb(cr, c.r, c.g, c.b);
  cairo_set_line_width(cr, width);
  cairo_set_dash(cr, kDash, dashed ? 2 : 0, 0);
}

struct Range {
  double low = 0, high = 0;
  bool empty = true;
  void add(double v) {
    if (!std::isfinite(v)) return;
    low = empty ? v : std::min(low, v);
    high = empty ? v : std::max(high, v);
    empty = false;
  }
};

// Plot area and mapping from data to pixels.
struct Frame {
  double left, right, top, bottom;
  double x_low, x_high, y_low, y_high;
  double px(double x) const { return left + (x - x_low) / (x_high - x_low) * (right - left); }
  double py(double y) const { return bottom - (y - y_low) / (y_high - y_low) * (bottom - top); }
};

void draw_grid(cairo_t* cr, const Frame& f, const std::vector<double>& x_ticks, const std::vector<double>& y_ticks) {
  cairo_set_line_width(cr, 1);
  cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);
  for (double t : x_ticks) {
    cairo_move_to(cr, std::round(f.px(t)) + 0.5, f.top);
    cairo_line_to(cr, std::round(f.px(t)) + 0.5, f.bottom);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, f.left, std::round(f.py(t)) + 0.5);
    cairo_line_to(cr, f.right, std::round(f.py(t)) + 0.5);
  }
  cairo_stroke(cr);
}

// Axes crossing at the origin (along the border when 0 is out of view), tick labels next to them.
void draw_origin_axes(cairo_t* cr, const Frame& f, const std::vector<double>& x_ticks,
                      const std::vector<double>& y_ticks, const std::string& x_label) {
  const double axis_x = std::round(f.px(f.x_low <= 0 && 0 <= f.x_high ? 0.0 : f.x_low)) + 0.5;
  const double axis_y = std::round(f.py(0.0)) + 0.5;
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1.2);
  cairo_move_to(cr, f.left, axis_y);
  cairo_line_to(cr, f.right, axis_y);
  cairo_move_to(cr, axis_x, f.top);
  cairo_line_to(cr, axis_x, f.bottom);
  cairo_stroke(cr);

  const bool origin_visible = axis_x == std::round(f.px(0.0)) + 0.5;
  cairo_set_font_size(cr, 12);
  for (double t : x_ticks) {
    cairo_move_to(cr, f.px(t), axis_y - 4);
    cairo_line_to(cr, f.px(t), axis_y + 4);
    if (t != 0.0 || !origin_visible) draw_text(cr, tick_label(t), f.px(t), axis_y + 8, 0.5, 0.0);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, axis_x - 4, f.py(t));
    cairo_line_to(cr, axis_x + 4, f.py(t));
    if (t != 0.0) draw_text(cr, tick_label(t), axis_x - 8, f.py(t), 1.0, 0.5);
  }
  cairo_stroke(cr);
  if (origin_visible) draw_text(cr, "0", axis_x - 6, axis_y + 8, 1.0, 0.0);
  cairo_set_font_size(cr, 14);
  draw_text(cr, x_label, f.right, axis_y - 8, 1.0, 1.0);
}

// A box around the plot area, ticks and their labels outside it, axis labels beside the tick labels.
void draw_frame_axes(cairo_t* cr, const Frame& f, const std::vector<double>& x_ticks,
                     const std::vector<double>& y_ticks, const std::string& x_label, const std::string& y_label) {
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1.2);
  cairo_rectangle(cr, std::round(f.left) + 0.5, std::round(f.top) + 0.5, std::round(f.right - f.left),
                  std::round(f.bottom - f.top));
  cairo_stroke(cr);
  cairo_set_line_width(cr, 1);
  cairo_set_font_size(cr, 12);
  double widest = 0;
  for (double t : x_ticks) {
    cairo_move_to(cr, f.px(t), f.bottom);
    cairo_line_to(cr, f.px(t), f.bottom + 5);
    draw_text(cr, tick_label(t), f.px(t), f.bottom + 9, 0.5, 0.0);
  }
  for (double t : y_ticks) {
    cairo_move_to(cr, f.left - 5, f.py(t));
    cairo_line_to(cr, f.left, f.py(t));
    const std::string label = tick_label(t);
    cairo_text_extents_t extents;
    cairo_text_extents(cr, label.c_str(), &extents);
    widest = std::max(widest, extents.width);
    draw_text(cr, label, f.left - 9, f.py(t), 1.0, 0.5);
  }
  cairo_stroke(cr);
  cairo_set_font_size(cr, 14);
  draw_text(cr, x_label, 0.5 * (f.left + f.right), f.bottom + 30, 0.5, 0.0);
  cairo_save(cr);
  cairo_translate(cr, f.left - 9 - widest - 12, 0.5 * (f.top + f.bottom));
  cairo_rotate(cr, -std::numbers::pi / 2);
  draw_text(cr, y_label, 0, 0, 0.5, 1.0);
  cairo_restore(cr);
}

void draw_band(cairo_t* cr, const Frame& f, const LineSeries& s) {
  if (s.band_low.size() != s.x.size() || s.band_high.size() != s.x.size() || s.x.empty()) return;
  const Rgb& c = colour_of(s.colour);
  cairo_set_source_rgba(cr, c.r, c.g, c.b, kBandAlpha);
  cairo_move_to(cr, f.px(s.x[0]), f.py(s.band_high[0]));
  for (size_t i = 1; i < s.x.size(); ++i) cairo_line_to(cr, f.px(s.x[i]), f.py(s.band_high[i]));
  for (size_t i = s.x.size(); i-- > 0;) cairo_line_to(cr, f.px(s.x[i]), f.py(s.band_low[i]));
  cairo_close_path(cr);
  cairo_fill(cr);
}

void draw_line(cairo_t* cr, const Frame& f, const LineSeries& s) {
  set_stroke(cr, s.colour, s.dashed, s.width);
  const Rgb& c = colour_of(s.colour);
  cairo_set_source_rgba(cr, c.r, c.g, c.b, s.opacity);
  if (s.x.size() == 1) {  // a lone point (a one-epoch run) would draw nothing as a line
    if (std::isfinite(s.y[0])) {
      cairo_new_path(cr);
      cairo_arc(cr, f.px(s.x[0]), f.py(s.y[0]), s.width + 1, 0, 2 * std::numbers::pi);
      cairo_fill(cr);
    }
    return;
  }
  bool drawing = false;
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.y[i])) {
      drawing = false;
      continue;
    }
    if (drawing)
      cairo_line_to(cr, f.px(s.x[i]), f.py(s.y[i]));
    else
      cairo_move_to(cr, f.px(s.x[i]), f.py(s.y[i]));
    drawing = true;
  }
  cairo_stroke(cr);
}

void draw_legend(cairo_t* cr, const std::vector<std::vector<LegendItem>>& rows, double left, double top,
                 double row_height) {
  cairo_set_font_size(cr, 13);
  // Items line up in columns as wide as their widest label.
  std::vector<double> column_width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      cairo_text_extents_t extents;
      cairo_text_extents(cr, row[i].label.c_str(), &extents);
      if (column_width.size() <= i) column_width.resize(i + 1, 0);
      column_width[i] = std::max(column_width[i], extents.x_advance);
    }
  for (size_t r = 0; r < rows.size(); ++r) {
    const double y = top + row_height * (r + 0.5);
    double x = left;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const LegendItem& item = rows[r][i];
      if (item.band) {
        const Rgb& c = colour_of(item.colour);
        cairo_set_source_rgba(cr, c.r, c.g, c.b, kBandAlpha);
        cairo_rectangle(cr, x, y - 7, 34, 14);
        cairo_fill(cr);
      }
      set_stroke(cr, item.colour, item.dashed, item.width);
      cairo_move_to(cr, x, y);
      cairo_line_to(cr, x + 34, y);
      cairo_stroke(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      draw_text(cr, item.label, x + 44, y, 0.0, 0.5);
      x += 44 + column_width[i] + 36;
    }
  }
  cairo_set_dash(cr, kDash, 0, 0);
}

}  // namespace

bool line_plots_available() { return true; }

void render_line_plot(const LinePlot& plot, const std::string& path) {
  constexpr int kWidth = 960;
  const bool frame_axes = plot.axes == PlotAxes::frame;
  const double left = frame_axes ? 90 : 70, right = kWidth - 30, top = 60, bottom = 590;
  const double legend_top = bottom + (frame_axes ? 56 : 36), legend_row = 22;
  const int height = static_cast<int>(legend_top + legend_row * plot.legend.size() + 24);

  Range x_range, y_range;
  if (!frame_axes) y_range.add(0);  // the x axis is always in view
  for (const LineSeries& s : plot.series) {
    for (double x : s.x) x_range.add(x);
    for (const std::vector<double>* values : {&s.y, &s.band_low, &s.band_high})
      for (double v : *values) y_range.add(v);
  }
  if (x_range.empty) x_range = {0, 1, false};
  if (y_range.empty) y_range = {0, 1, false};
  if (x_range.high - x_range.low < 1e-12) x_range = {x_range.low - 1, x_range.high + 1, false};
  if (y_range.high - y_range.low < 1e-6) y_range.high = y_range.low + 1;
  const double pad = (frame_axes ? 0.06 : 0.08) * (y_range.high - y_range.low);
  const Frame f{left, right, top, bottom, x_range.low, x_range.high, y_range.low - pad, y_range.high + pad};

  Canvas canvas(kWidth, height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

  double x_step = nice_step(f.x_high - f.x_low, 10);
  if (plot.integer_x) x_step = std::max(1.0, std::round(x_step));
  const std::vector<double> x_ticks = ticks(f.x_low, f.x_high, x_step);
  const std::vector<double> y_ticks = ticks(f.y_low, f.y_high, nice_step(f.y_high - f.y_low, 8));
  draw_grid(cr, f, x_ticks, y_ticks);
  if (frame_axes)
    draw_frame_axes(cr, f, x_ticks, y_ticks, plot.x_label, plot.y_label);
  else
    draw_origin_axes(cr, f, x_ticks, y_ticks, plot.x_label);

  cairo_save(cr);
  cairo_rectangle(cr, f.left, f.top, f.right - f.left, f.bottom - f.top);
  cairo_clip(cr);
  for (const LineSeries& s : plot.series) draw_band(cr, f, s);  // every band under every line
  for (const LineSeries& s : plot.series) draw_line(cr, f, s);
  cairo_restore(cr);
  cairo_set_dash(cr, kDash, 0, 0);

  draw_legend(cr, plot.legend, left, legend_top, legend_row);

  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 17);
  draw_text(cr, plot.title, kWidth / 2.0, 22, 0.5, 0.0);
  canvas.save_png(path);
}

#else  // !SUGAR_HAVE_CAIRO

bool line_plots_available() { return false; }

void render_line_plot(const LinePlot&, const std::string&) {
  throw Error("plots: this sugar was built without cairo (install libcairo2-dev and rebuild)", ErrorKind::runtime);
}

#endif  // SUGAR_HAVE_CAIRO

}  // namespace sugar::cli
