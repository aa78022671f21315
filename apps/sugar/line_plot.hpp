#pragma once
// Line plots as PNG files, drawn with cairo, used by `sugar activations plot` (functions and gradients,
// axes through the origin) and `sugar report` (curves against epoch with a min-max band, axes along the
// frame). heat_map.hpp draws the report's other kind of plot; cairo_canvas.hpp is what both share.
//
// cairo is optional at build time (SUGAR_HAVE_CAIRO, apps/CMakeLists.txt): without it
// line_plots_available() is false and render_line_plot throws a runtime error saying what to install.
#include <cstddef>
#include <string>
#include <vector>

namespace sugar::cli {

struct LineSeries {
  std::vector<double> x, y;  // a non-finite y breaks the line
  // Optional shaded band under the line (e.g. min..max over seeds): empty, or one value per x.
  std::vector<double> band_low, band_high;
  size_t colour = 0;  // index into the palette (Okabe-Ito, colour-blind safe), wraps around
  bool dashed = false;
  double width = 2.4;
  double opacity = 1;  // < 1: a line drawn faintly behind the others (each seed under the mean)
};

// One entry of the legend: a stroke in the series' style, optionally over a band swatch, and a label.
struct LegendItem {
  std::string label;
  size_t colour = 0;
  bool dashed = false;
  double width = 2.4;
  bool band = false;
};

enum class PlotAxes {
  origin,  // axes cross at (0, 0) (or lie along the border when 0 is out of view); y always shows 0
  frame,   // axes along the left and bottom border, tick labels outside, axis labels beside them
};

struct LinePlot {
  std::string title;
  std::string x_label, y_label;  // origin axes: x_label at the end of the x axis, y_label unused
  std::vector<LineSeries> series;
  // The legend, under the plot so that it never hides a curve: rows of items placed side by side.
  std::vector<std::vector<LegendItem>> legend;
  PlotAxes axes = PlotAxes::frame;
  bool integer_x = false;  // x ticks only at whole numbers (epochs)
};

bool line_plots_available();

// Draws `plot` into a PNG at `path`. Throws sugar::Error: usage when the file cannot be written,
// runtime when the program was built without cairo.
void render_line_plot(const LinePlot& plot, const std::string& path);

}  // namespace sugar::cli
