#pragma once
// Reading CSV text whose columns are found by their header names: a run directory's metrics.csv and
// neurons.csv (run_dir/csv_files.hpp) and the reference tables of `sugar report --reference`
// (report/reference.hpp). One reader, so every CSV file Sugar reads fails the same way.
//
// The format: the first non-blank line is the header; every other non-blank line is a row with as many
// cells as the header. Blank lines are skipped, a trailing \r (a file edited on Windows) is dropped and
// a leading UTF-8 byte order mark (spreadsheet programs write one) is skipped. A cell may be quoted
// ("sugar(surrogate=bsilu, alpha=1.67)"), with "" standing for a quote inside it, as report.csv writes
// cells that hold commas; a quoted cell ends on its own line. Cells are not trimmed.
//
// Every problem is a sugar::Error "<path>:<line>: <what>" of the kind the caller asks for: runtime for
// the files a run wrote, usage for a table the user gives on the command line.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "sugar/error.hpp"

namespace sugar::io {

struct CsvTable {
  struct Row {
    size_t line = 0;  // 1-based line in the file
    std::vector<std::string> cells;
  };

  std::string path;
  ErrorKind kind = ErrorKind::runtime;
  std::vector<std::string> header;
  std::map<std::string, size_t> column;  // header name -> index
  size_t header_line = 1;
  std::vector<Row> rows;

  // The index of a column the file must have; an error naming the header line otherwise.
  size_t require(const std::string& name) const;
  // Throws "<path>:<line>: <what>" of the table's kind.
  [[noreturn]] void fail(size_t line, const std::string& what) const;
};

// Parses `text`; `path` names it in errors and `expected_header` says in the error for an empty file
// what the header should be. Errors: an empty file, a header naming a column twice, a row with another
// number of cells than the header, a quoted cell without its closing quote or with text after it.
CsvTable parse_csv_table(const std::string& text, const std::string& path, const std::string& expected_header,
                         ErrorKind kind = ErrorKind::runtime);

}  // namespace sugar::io
