#pragma once
// Tables and numbers as the report writes them (report_text.cpp, reference_text.cpp): one table type
// rendered as markdown or as aligned terminal text, and the number formats of its cells.
//
// Implementation header of the report module.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/report/curves.hpp"

namespace sugar::report::text {

inline constexpr const char* kDash = "\u2014";  // an em dash: "does not apply" / "not reached"

// "82.00" (fixed decimals), "+4.50" (with its sign), "82.00 ± 2.00" (the std left out when NaN, a dash
// for a NaN mean).
std::string fixed(double value, int decimals = 2);
std::string signed_fixed(double value);
std::string mean_std(double mean, double std);

// A plain table: headers and rows of cells, every row as long as the headers.
struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};

// A markdown table (a '|' inside a cell is escaped) and aligned text with a rule under the headers.
std::string markdown(const Table& table);
std::string aligned(const Table& table);

// A CSV cell, quoted when it holds a comma, a quote or a newline; a number with 10 significant digits
// (empty for NaN).
std::string csv_cell(const std::string& text);
std::string number(double value);
// "0 1 2": the seeds of a group as report.csv and reference.csv write them.
std::string space_separated(const std::vector<uint64_t>& values);
// A CSV line from its cells.
std::string csv_line(const std::vector<std::string>& cells);

// A curve's point at `epoch` as the CSV cells n, mean, std, min, max (empty where it has none), and
// their headers "<name>_n", "<name>_mean", ...
void curve_cells(std::vector<std::string>& cells, const Curve& curve, int64_t epoch);
std::vector<std::string> curve_headers(const std::string& name);

}  // namespace sugar::report::text
