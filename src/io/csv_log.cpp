#include "sugar/io/csv_log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/text.hpp"

namespace sugar::io {
namespace {

std::FILE* open_or_throw(const std::string& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) throw Error("cannot open " + path + ": " + std::strerror(errno));
  return file;
}

}  // namespace

CsvLog CsvLog::create(const std::string& path, const std::vector<std::string>& columns) {
  CsvLog log(path, open_or_throw(path, "w"));
  const std::string header = csv_header_line(columns) + "\n";
  write_all(log.file_, header.data(), header.size(), path);
  std::fflush(log.file_);
  return log;
}

CsvLog CsvLog::append_to(const std::string& path) { return CsvLog(path, open_or_throw(path, "a")); }

CsvLog::CsvLog(CsvLog&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) { other.file_ = nullptr; }

CsvLog::~CsvLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void CsvLog::append(const std::string& lines) {
  write_all(file_, lines.data(), lines.size(), path_);
  if (std::fflush(file_) != 0) throw Error("cannot write " + path_ + ": " + std::strerror(errno));
  if (::fsync(::fileno(file_)) != 0) throw Error("cannot sync " + path_ + " to disk: " + std::strerror(errno));
}

std::string csv_header_line(const std::vector<std::string>& columns) { return text::join(columns, ","); }

std::string csv_number(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

}  // namespace sugar::io
