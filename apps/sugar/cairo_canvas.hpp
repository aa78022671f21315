#pragma once
// What the PNG plots of the sugar program share (line_plot.cpp, heat_map.cpp): a cairo image surface
// that writes itself as PNG, text placed by its extents, round tick steps, and the colour palettes.
// Only compiled with cairo (SUGAR_HAVE_CAIRO, apps/CMakeLists.txt).
#ifdef SUGAR_HAVE_CAIRO
#include <cairo.h>

#include <string>
#include <vector>

namespace sugar::cli::plot {

struct Rgb {
  double r, g, b;
};

// The Okabe-Ito palette (colour-blind safe) for lines, wrapping around; and a sequential map from
// [0, 1] to colour (viridis: dark purple through teal to yellow, readable in grey and colour-blind
// safe), for heat maps.
const Rgb& line_colour(size_t index);
Rgb sequential_colour(double value);

class Canvas {
 public:
  Canvas(int width, int height);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;
  cairo_t* cr() const { return cr_; }
  // Throws sugar::Error (usage) naming the path when the PNG cannot be written.
  void save_png(const std::string& path);

 private:
  cairo_surface_t* surface_;
  cairo_t* cr_;
};

// Text placed so that (x, y) is at fraction (align_x, align_y) of its extents: 0.5, 0.5 centres it.
void draw_text(cairo_t* cr, const std::string& text, double x, double y, double align_x, double align_y);

// A round tick spacing (1, 2 or 5 times a power of ten) giving about `target` ticks over `span`; the
// ticks of that step within [low, high]; a tick's label ("%g").
double nice_step(double span, double target);
std::vector<double> ticks(double low, double high, double step);
std::string tick_label(double value);

}  // namespace sugar::cli::plot
#endif  // SUGAR_HAVE_CAIRO
