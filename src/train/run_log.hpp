#pragma once
// The run's train.log (internal to sugar::train: the training run opens it, rank 0 only).
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace sugar::train {

// Adds the run's log file to the default logger for the lifetime of a run; file_only() logs to the
// file alone (progress lines while the terminal shows a bar).
class RunLog {
 public:
  explicit RunLog(const std::string& path);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  spdlog::logger& file_only() { return *file_only_; }

 private:
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> file_only_;
  spdlog::level::level_enum previous_flush_level_ = spdlog::level::off;
};

}  // namespace sugar::train
