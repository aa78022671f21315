#pragma once
// Heat maps as PNG files, drawn with cairo, for `sugar report`: a value in [0, 1] per row and column for
// several groups side by side, e.g. each activation site's dead fraction (a row per site, in the
// network's order) per epoch (a column per epoch), one panel per activation. The colour map is
// sequential (viridis); it spans the values' range rounded out to round numbers within [0, 1], so that
// a dead fraction of a few percent does not vanish in a 0-100% scale, and the colour bar says in
// percent what it spans. Cells large enough carry their value in percent; a cell without one is grey.
//
// Without cairo (SUGAR_HAVE_CAIRO, apps/CMakeLists.txt) render_heat_map throws a runtime error saying
// what to install, as render_line_plot does.
#include <cstdint>
#include <string>
#include <vector>

namespace sugar::cli {

struct HeatPanel {
  std::string title;
  std::vector<double> values;  // rows x columns, row-major; NaN: no value
};

struct HeatMap {
  std::string title;
  std::vector<std::string> rows;  // the row labels, shared by every panel
  std::vector<int64_t> columns;   // the column labels (epochs), increasing
  std::string column_label = "epoch";
  std::string value_label;        // under the colour bar, e.g. "dead fraction (mean over seeds)"
  std::vector<HeatPanel> panels;  // up to three side by side, then the next line
};

// Draws `map` into a PNG at `path`. Throws sugar::Error: usage when the file cannot be written,
// runtime when the program was built without cairo.
void render_heat_map(const HeatMap& map, const std::string& path);

}  // namespace sugar::cli
