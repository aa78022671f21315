#include "text_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sugar::report::text {
namespace {

// Display width of UTF-8 text: code points (every character used here is one column wide).
size_t width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// A '|' would end a markdown cell early (a paper's source, a hand-written spec): written \|.
std::string markdown_cell(const std::string& text) {
  std::string cell;
  for (char c : text) cell += c == '|' ? std::string("\\|") : std::string(1, c);
  return cell;
}

}  // namespace

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string signed_fixed(double value) {
  std::string text = fixed(value);
  return value >= 0 ? text.insert(0, 1, '+') : text;
}

std::string mean_std(double mean, double std) {
  if (std::isnan(mean)) return kDash;
  return std::isnan(std) ? fixed(mean) : fixed(mean) + " \u00b1 " + fixed(std);
}

std::string markdown(const Table& table) {
  const auto line = [](const std::vector<std::string>& cells) {
    std::string text = "|";
    for (const std::string& cell : cells) text += " " + markdown_cell(cell) + " |";
    return text + "\n";
  };
  std::string text = line(table.headers);
  text += "|";
  for (size_t i = 0; i < table.headers.size(); ++i) text += "---|";
  text += "\n";
  for (const auto& row : table.rows) text += line(row);
  return text;
}

std::string aligned(const Table& table) {
  std::vector<size_t> widths(table.headers.size());
  for (size_t c = 0; c < widths.size(); ++c) {
    widths[c] = width(table.headers[c]);
    for (const auto& row : table.rows) widths[c] = std::max(widths[c], width(row[c]));
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      text += cells[c];
      if (c + 1 < cells.size()) text += std::string(widths[c] - width(cells[c]) + 2, ' ');
    }
    return text + "\n";
  };
  std::string text = line(table.headers);
  size_t total = 0;
  for (size_t w : widths) total += w + 2;
  text += std::string(total - 2, '-') + "\n";
  for (const auto& row : table.rows) text += line(row);
  return text;
}

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string number(double value) {
  if (std::isnan(value)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string space_separated(const std::vector<uint64_t>& values) {
  std::string text;
  for (uint64_t value : values) text += (text.empty() ? "" : " ") + std::to_string(value);
  return text;
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) line += (i > 0 ? "," : "") + csv_cell(cells[i]);
  return line + "\n";
}

void curve_cells(std::vector<std::string>& cells, const Curve& curve, int64_t epoch) {
  const auto it = std::find(curve.epochs.begin(), curve.epochs.end(), epoch);
  if (it == curve.epochs.end()) {
    cells.insert(cells.end(), 5, "");
    return;
  }
  const size_t i = static_cast<size_t>(it - curve.epochs.begin());
  for (const std::string& cell : {std::to_string(curve.n[i]), number(curve.mean[i]), number(curve.std[i]),
                                  number(curve.min[i]), number(curve.max[i])})
    cells.push_back(cell);
}

std::vector<std::string> curve_headers(const std::string& name) {
  return {name + "_n", name + "_mean", name + "_std", name + "_min", name + "_max"};
}

}  // namespace sugar::report::text
