#include "sugar/train/neurons_csv.hpp"

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

const std::vector<std::string>& NeuronsCsv::columns() {
  static const std::vector<std::string> names{"epoch", "site", "dead_fraction", "sparsity", "grad_norm",
                                              "grad_nonzero_fraction"};
  return names;
}

std::string NeuronsCsv::header_line() {
  std::string line;
  for (const std::string& name : columns()) line += (line.empty() ? "" : ",") + name;
  return line;
}

std::string NeuronsCsv::format_row(int64_t epoch, const SiteNeuronStats& s) {
  std::string row = std::to_string(epoch);
  auto cell = [&row](const std::string& text) {
    row += ',';
    row += text;
  };
  cell(s.site);
  cell(format("%.6f", s.dead_fraction));
  cell(format("%.6f", s.sparsity));
  cell(format("%.8g", s.grad_norm));
  cell(format("%.6f", s.grad_nonzero_fraction));
  return row;
}

NeuronsCsv NeuronsCsv::create(const std::string& path) {
  std::FILE* file = open_or_throw(path, "w");
  NeuronsCsv csv(path, file);
  const std::string header = header_line() + "\n";
  io::write_all(file, header.data(), header.size(), path);
  std::fflush(file);
  return csv;
}

NeuronsCsv NeuronsCsv::append_to(const std::string& path) { return NeuronsCsv(path, open_or_throw(path, "a")); }

NeuronsCsv::NeuronsCsv(NeuronsCsv&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = nullptr;
}

NeuronsCsv::~NeuronsCsv() {
  if (file_ != nullptr) std::fclose(file_);
}

void NeuronsCsv::append(int64_t epoch, const std::vector<SiteNeuronStats>& sites) {
  std::string rows;
  for (const SiteNeuronStats& s : sites) {
    rows += format_row(epoch, s);
    rows += '\n';
  }
  io::write_all(file_, rows.data(), rows.size(), path_);
  if (std::fflush(file_) != 0) throw Error("cannot write " + path_ + ": " + std::strerror(errno));
  // On disk before the epoch's checkpoint is written (a checkpoint whose rows a power loss took would
  // make the run refuse to resume).
  if (::fsync(::fileno(file_)) != 0) throw Error("cannot sync " + path_ + " to disk: " + std::strerror(errno));
}

}  // namespace sugar::train
