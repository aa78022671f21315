#include "sugar/io/csv_table.hpp"

#include <string_view>

namespace sugar::io {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

// The cells of one line (without its newline). Returns false with `problem` set for a malformed
// quoted cell.
bool split_cells(std::string_view line, std::vector<std::string>& cells, std::string& problem) {
  size_t pos = 0;
  while (true) {
    std::string cell;
    if (pos < line.size() && line[pos] == '"') {
      const size_t opened = pos++;
      while (true) {
        if (pos >= line.size()) {
          problem = "the quoted cell at column " + std::to_string(opened + 1) + " has no closing quote";
          return false;
        }
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            cell += '"';
            pos += 2;
            continue;
          }
          ++pos;
          break;
        }
        cell += line[pos++];
      }
      if (pos < line.size() && line[pos] != ',') {
        problem = "text after the closing quote at column " + std::to_string(pos + 1) + " (a quote inside a quoted "
                  "cell is written \"\")";
        return false;
      }
    } else {
      const size_t comma = line.find(',', pos);
      const size_t end = comma == std::string_view::npos ? line.size() : comma;
      cell = std::string(line.substr(pos, end - pos));
      pos = end;
    }
    cells.push_back(std::move(cell));
    if (pos >= line.size()) return true;
    ++pos;  // the comma
  }
}

}  // namespace

size_t CsvTable::require(const std::string& name) const {
  const auto it = column.find(name);
  if (it == column.end()) fail(header_line, "the header has no column '" + name + "'");
  return it->second;
}

void CsvTable::fail(size_t line, const std::string& what) const {
  throw Error(path + ":" + std::to_string(line) + ": " + what, kind);
}

CsvTable parse_csv_table(const std::string& text, const std::string& path, const std::string& expected_header,
                         ErrorKind kind) {
  CsvTable table;
  table.path = path;
  table.kind = kind;
  std::string_view rest = text;
  if (rest.substr(0, kByteOrderMark.size()) == kByteOrderMark) rest.remove_prefix(kByteOrderMark.size());
  size_t number = 0;
  bool have_header = false;
  while (!rest.empty()) {
    const size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::string problem;
    if (!split_cells(line, cells, problem)) table.fail(number, problem);
    if (!have_header) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (!table.column.emplace(cells[i], i).second)
          table.fail(number, "the header names column '" + cells[i] + "' twice");
      }
      table.header = std::move(cells);
      table.header_line = number;
      have_header = true;
      continue;
    }
    if (cells.size() != table.header.size()) {
      table.fail(number, "expected " + std::to_string(table.header.size()) + " cells (as in the header), got " +
                             std::to_string(cells.size()));
    }
    table.rows.push_back({number, std::move(cells)});
  }
  if (!have_header) table.fail(1, "empty file, expected the header '" + expected_header + "'");
  return table;
}

}  // namespace sugar::io
