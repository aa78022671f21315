#include "run_log.hpp"

#include <algorithm>

#include "sugar/log_format.hpp"

namespace sugar::train {

RunLog::RunLog(const std::string& path)
    : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false)),
      file_only_(std::make_shared<spdlog::logger>("sugar-run-file", sink_)) {
  sink_->set_formatter(printable_log_formatter("[%Y-%m-%d %H:%M:%S] %l: %*"));
  file_only_->set_level(spdlog::level::info);
  // Each line reaches the file at once, for `tail -f train.log` and for whoever reads it after a
  // kill: a few lines per epoch cost nothing.
  file_only_->flush_on(spdlog::level::info);
  previous_flush_level_ = spdlog::default_logger()->flush_level();
  spdlog::default_logger()->flush_on(spdlog::level::info);
  spdlog::default_logger()->sinks().push_back(sink_);
}
RunLog::~RunLog() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  spdlog::default_logger()->flush_on(previous_flush_level_);
  sink_->flush();
}

}  // namespace sugar::train
