#pragma once
// A CSV file a run appends to as it goes (metrics.csv, neurons.csv: train/metrics_csv.hpp,
// train/neurons_csv.hpp): created with its header, or reopened for appending when a run resumes. Each
// append is written, flushed and synced to disk before it returns, so that a checkpoint written after
// it never refers to rows a power loss took (a run whose checkpoint is ahead of its rows refuses to
// resume). What the columns are and how a row is formatted belongs to the file's owner; this class
// only owns the file. Reading is io/csv_table.hpp.
#include <cstdio>
#include <string>
#include <vector>

namespace sugar::io {

class CsvLog {
 public:
  // Creates (or truncates) `path` and writes the header line of `columns`. Throws sugar::Error naming
  // the path when it cannot.
  static CsvLog create(const std::string& path, const std::vector<std::string>& columns);
  // Opens the existing file of a run being resumed, to append to it.
  static CsvLog append_to(const std::string& path);

  CsvLog(CsvLog&& other) noexcept;
  CsvLog& operator=(CsvLog&&) = delete;
  ~CsvLog();

  // Appends `lines` (whole lines, each ending in '\n') and makes them durable.
  void append(const std::string& lines);
  const std::string& path() const { return path_; }

 private:
  CsvLog(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_ = nullptr;
};

// The header line of `columns`: the names joined by commas (no newline).
std::string csv_header_line(const std::vector<std::string>& columns);

// `value` printed with a printf pattern such as "%.6f", as a cell.
std::string csv_number(const char* pattern, double value);

}  // namespace sugar::io
