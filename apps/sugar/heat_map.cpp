#include "heat_map.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "cairo_canvas.hpp"
#include "sugar/error.hpp"

namespace sugar::cli {

#ifdef SUGAR_HAVE_CAIRO
namespace {

using plot::draw_text;

constexpr double kPanelWidth = 300;     // the cells of a panel, whatever the number of epochs
constexpr double kRowHeight = 18;       // per site, within the limits below
constexpr double kMinPanelHeight = 120, kMaxPanelHeight = 540;
constexpr double kTitleHeight = 26, kAxisHeight = 40, kGap = 28, kMargin = 20;
constexpr size_t kPanelsPerLine = 3;
constexpr double kNoValueGrey = 0.85;
constexpr std::pair<double, double> kMinLabelledCell{24, 13};  // cells at least this large show their value

// The widest of `labels` at the current font.
double widest(cairo_t* cr, const std::vector<std::string>& labels) {
  double w = 0;
  for (const std::string& label : labels) {
    cairo_text_extents_t extents;
    cairo_text_extents(cr, label.c_str(), &extents);
    w = std::max(w, extents.x_advance);
  }
  return w;
}

// A panel title in at most `width` pixels: the font shrinks to 8 points, then the text is cut (at a
// UTF-8 character boundary) and ends in an ellipsis.
void draw_fitted_title(cairo_t* cr, const std::string& text, double centre_x, double y, double width) {
  double size = 13;
  cairo_set_font_size(cr, size);
  while (size > 8 && widest(cr, {text}) > width) cairo_set_font_size(cr, size -= 0.5);
  std::string shown = text, kept = text;
  while (!kept.empty() && widest(cr, {shown}) > width) {
    // One code point off the end: its continuation bytes, then its first byte.
    while (!kept.empty() && (static_cast<unsigned char>(kept.back()) & 0xC0) == 0x80) kept.pop_back();
    if (!kept.empty()) kept.pop_back();
    shown = kept + "\u2026";
  }
  draw_text(cr, shown, centre_x, y, 0.5, 0.0);
}

// What the colours span: the values' range rounded out to round numbers, within [0, 1], so that a
// dead fraction of a few percent does not vanish in a 0-100% scale.
struct ColourScale {
  double low = 0, high = 1;
  double fraction(double v) const { return (v - low) / (high - low); }
};

ColourScale colour_scale(const HeatMap& map) {
  double min = INFINITY, max = -INFINITY;
  for (const HeatPanel& panel : map.panels)
    for (double v : panel.values)
      if (std::isfinite(v)) min = std::min(min, v), max = std::max(max, v);
  if (min > max) return {};
  const double step = max > min ? plot::nice_step(max - min, 4) : 0.05;
  ColourScale scale{std::clamp(std::floor(min / step) * step, 0.0, 1.0),
                    std::clamp(std::ceil(max / step) * step, 0.0, 1.0)};
  if (scale.high - scale.low < 1e-9) {
    if (scale.high < 1)
      scale.high = std::min(1.0, scale.low + step);
    else
      scale.low = std::max(0.0, scale.high - step);
  }
  return scale;
}

// Column indices that get an epoch label: about 8, evenly spaced, always the first and the last.
std::vector<size_t> labelled_columns(size_t count) {
  if (count == 0) return {};
  const double nice = plot::nice_step(static_cast<double>(count), 8);
  const size_t step = std::max<size_t>(1, static_cast<size_t>(std::round(nice)));
  std::vector<size_t> labelled;
  for (size_t i = 0; i < count; i += step) labelled.push_back(i);
  if (labelled.back() != count - 1) {
    if (count - 1 - labelled.back() < (step + 1) / 2 && labelled.size() > 1) labelled.pop_back();  // no overlap
    labelled.push_back(count - 1);
  }
  return labelled;
}

// The value in percent inside its cell, dark on light colours and light on dark ones.
void draw_cell_value(cairo_t* cr, double v, const ColourScale& scale, const plot::Rgb& background, double x, double y) {
  char text[16];
  std::snprintf(text, sizeof text, "%.*f", scale.high - scale.low >= 0.1 ? 0 : 1, 100 * v);
  const double luminance = 0.2126 * background.r + 0.7152 * background.g + 0.0722 * background.b;
  const double ink = luminance > 0.45 ? 0.1 : 0.95;
  cairo_set_source_rgb(cr, ink, ink, ink);
  cairo_set_font_size(cr, 9);
  draw_text(cr, text, x, y, 0.5, 0.5);
}

void draw_panel(cairo_t* cr, const HeatMap& map, const HeatPanel& panel, const ColourScale& scale, double left,
                double top, double label_width, double panel_height) {
  const double cells_left = left + label_width;
  const size_t rows = map.rows.size(), columns = map.columns.size();
  const double cell_w = kPanelWidth / static_cast<double>(std::max<size_t>(columns, 1));
  const double cell_h = panel_height / static_cast<double>(std::max<size_t>(rows, 1));

  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  draw_fitted_title(cr, panel.title, left + 0.5 * (label_width + kPanelWidth), top, label_width + kPanelWidth);
  const double cells_top = top + kTitleHeight;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns; ++c) {
      const double v = r * columns + c < panel.values.size() ? panel.values[r * columns + c] : NAN;
      const plot::Rgb colour = std::isfinite(v) ? plot::sequential_colour(scale.fraction(v))
                                                : plot::Rgb{kNoValueGrey, kNoValueGrey, kNoValueGrey};
      cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
      // Cells overlap by a fraction of a pixel so that no background shows between them.
      const double x = cells_left + c * cell_w, y = cells_top + r * cell_h;
      cairo_rectangle(cr, x, y, cell_w + 0.5, cell_h + 0.5);
      cairo_fill(cr);
      if (std::isfinite(v) && cell_w >= kMinLabelledCell.first && cell_h >= kMinLabelledCell.second)
        draw_cell_value(cr, v, scale, colour, x + 0.5 * cell_w, y + 0.5 * cell_h);
    }
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, std::round(cells_left) + 0.5, std::round(cells_top) + 0.5, std::round(kPanelWidth),
                  std::round(panel_height));
  cairo_stroke(cr);

  cairo_set_font_size(cr, std::min(11.0, std::max(7.0, cell_h - 3)));
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  for (size_t r = 0; r < rows; ++r)
    draw_text(cr, map.rows[r], cells_left - 6, cells_top + (r + 0.5) * cell_h, 1.0, 0.5);
  cairo_set_font_size(cr, 11);
  for (size_t c : labelled_columns(columns)) {
    const double x = cells_left + (c + 0.5) * cell_w;
    cairo_move_to(cr, x, cells_top + panel_height);
    cairo_line_to(cr, x, cells_top + panel_height + 4);
    cairo_stroke(cr);
    draw_text(cr, std::to_string(map.columns[c]), x, cells_top + panel_height + 7, 0.5, 0.0);
  }
  draw_text(cr, map.column_label, cells_left + 0.5 * kPanelWidth, cells_top + panel_height + 22, 0.5, 0.0);
}

void draw_colour_bar(cairo_t* cr, const std::string& label, const ColourScale& scale, double left, double top) {
  constexpr double kWidth = 320, kHeight = 14;
  constexpr int kSteps = 160;
  for (int i = 0; i < kSteps; ++i) {
    const plot::Rgb colour = plot::sequential_colour((i + 0.5) / kSteps);
    cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
    cairo_rectangle(cr, left + i * kWidth / kSteps, top, kWidth / kSteps + 0.5, kHeight);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, std::round(left) + 0.5, std::round(top) + 0.5, kWidth, kHeight);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 11);
  for (double value : plot::ticks(scale.low, scale.high, plot::nice_step(scale.high - scale.low, 4))) {
    const double x = left + kWidth * scale.fraction(value);
    draw_text(cr, plot::tick_label(std::round(1e4 * value) / 100) + "%", x, top + kHeight + 4, 0.5, 0.0);
  }
  cairo_set_font_size(cr, 12);
  draw_text(cr, label, left + kWidth + 16, top + 0.5 * kHeight, 0.0, 0.5);
  cairo_set_source_rgb(cr, kNoValueGrey, kNoValueGrey, kNoValueGrey);
  cairo_rectangle(cr, left, top + kHeight + 24, 14, 12);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  draw_text(cr, "no value", left + 20, top + kHeight + 30, 0.0, 0.5);
}

}  // namespace

void render_heat_map(const HeatMap& map, const std::string& path) {
  // The label column is measured on a scratch surface, before the canvas size is known.
  double label_width = 0;
  {
    plot::Canvas scratch(1, 1);
    cairo_select_font_face(scratch.cr(), "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(scratch.cr(), 11);
    label_width = widest(scratch.cr(), map.rows) + 12;
  }
  const double panel_height =
      std::clamp(kRowHeight * static_cast<double>(map.rows.size()), kMinPanelHeight, kMaxPanelHeight);
  const size_t per_line = std::min(kPanelsPerLine, std::max<size_t>(map.panels.size(), 1));
  const size_t lines = (map.panels.size() + per_line - 1) / per_line;
  const double block_width = label_width + kPanelWidth + kGap;
  const double block_height = kTitleHeight + panel_height + kAxisHeight;
  const double title_height = 48, bar_height = 80;
  const int width = static_cast<int>(2 * kMargin + per_line * block_width - kGap);
  const int height = static_cast<int>(title_height + lines * block_height + bar_height);

  const ColourScale scale = colour_scale(map);
  plot::Canvas canvas(std::max(width, 560), height);
  cairo_t* cr = canvas.cr();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
  cairo_set_font_size(cr, 16);
  draw_text(cr, map.title, std::max(width, 560) / 2.0, 16, 0.5, 0.0);
  for (size_t p = 0; p < map.panels.size(); ++p) {
    const double left = kMargin + static_cast<double>(p % per_line) * block_width;
    const double top = title_height + static_cast<double>(p / per_line) * block_height;
    draw_panel(cr, map, map.panels[p], scale, left, top, label_width, panel_height);
  }
  draw_colour_bar(cr, map.value_label, scale, kMargin + label_width, title_height + lines * block_height + 8);
  canvas.save_png(path);
}

#else  // !SUGAR_HAVE_CAIRO

void render_heat_map(const HeatMap&, const std::string&) {
  throw Error("plots: this sugar was built without cairo (install libcairo2-dev and rebuild)", ErrorKind::runtime);
}

#endif  // SUGAR_HAVE_CAIRO

}  // namespace sugar::cli
