#include "sugar/train/metrics_csv.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"

namespace sugar::train {
namespace {

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::FILE* open_or_throw(const std::string& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) throw Error("cannot open " + path + ": " + std::strerror(errno));
  return file;
}

}  // namespace

const std::vector<std::string>& MetricsCsv::columns() {
  static const std::vector<std::string> names{"epoch", "train_loss", "train_top1", "eval_loss", "eval_top1",
                                              "eval_top5", "lr", "epoch_time_s", "train_imgs_per_sec",
                                              "eval_split"};
  return names;
}

std::string MetricsCsv::header_line() {
  std::string line;
  for (const std::string& name : columns()) line += (line.empty() ? "" : ",") + name;
  return line;
}

std::string MetricsCsv::format_row(const EpochMetrics& m) {
  // Appended cell by cell (operator+ on a literal trips a GCC 12 -Wrestrict false positive).
  std::string row = std::to_string(m.epoch);
  auto cell = [&row](const std::string& text) {
    row += ',';
    row += text;
  };
  cell(format("%.6f", m.train_loss));
  cell(format("%.4f", m.train_top1));
  cell(m.evaluated ? format("%.6f", m.eval_loss) : "");
  cell(m.evaluated ? format("%.4f", m.eval_top1) : "");
  cell(m.evaluated ? format("%.4f", m.eval_top5) : "");
  cell(format("%.8g", m.lr));
  cell(format("%.3f", m.epoch_time_s));
  cell(format("%.2f", m.train_imgs_per_sec));
  cell(m.evaluated ? m.eval_split : "");
  return row;
}

MetricsCsv MetricsCsv::create(const std::string& path) {
  std::FILE* file = open_or_throw(path, "w");
  MetricsCsv csv(path, file);
  const std::string header = header_line() + "\n";
  io::write_all(file, header.data(), header.size(), path);
  std::fflush(file);
  return csv;
}

MetricsCsv MetricsCsv::append_to(const std::string& path) { return MetricsCsv(path, open_or_throw(path, "a")); }

MetricsCsv::MetricsCsv(MetricsCsv&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = nullptr;
}

MetricsCsv::~MetricsCsv() {
  if (file_ != nullptr) std::fclose(file_);
}

void MetricsCsv::append(const EpochMetrics& metrics) {
  const std::string row = format_row(metrics) + "\n";
  io::write_all(file_, row.data(), row.size(), path_);
  if (std::fflush(file_) != 0) throw Error("cannot write " + path_ + ": " + std::strerror(errno));
  // On disk before the epoch's checkpoint is written (a checkpoint whose rows a power loss took would
  // make the run refuse to resume).
  if (::fsync(::fileno(file_)) != 0) throw Error("cannot sync " + path_ + " to disk: " + std::strerror(errno));
}

}  // namespace sugar::train
