#pragma once
// Progress of one epoch: a one-line bar redrawn in place when stderr is a terminal,
//
//   epoch 3/200 [##########......] 250/391  loss 0.6123  acc 78.4%  98 img/s  ETA 1:26
//
// and otherwise (a log file, CI, nohup) a plain log line every `log_interval`, so logs stay readable.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace sugar::train {

// True when stderr is a terminal.
bool stderr_is_terminal();

class EpochProgress {
 public:
  using LogLine = std::function<void(const std::string&)>;
  // `terminal`: draw the bar on stderr; else call `log_line` at most every `log_interval`.
  EpochProgress(std::string label, int64_t total_batches, bool terminal, LogLine log_line,
                std::chrono::milliseconds log_interval = std::chrono::seconds(30));

  // After each batch: batches and images done so far, running mean loss and top-1 (percent).
  void update(int64_t batches_done, int64_t images_done, double loss, double top1);
  // Ends the bar's line (terminal) before other output.
  void finish();

  // The text of one report, without the bar (what log lines hold).
  std::string summary(int64_t batches_done, int64_t images_done, double loss, double top1) const;

 private:
  std::string numbers(int64_t batches_done, int64_t images_done, double loss, double top1) const;
  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_batches_;
  bool terminal_;
  LogLine log_line_;
  std::chrono::milliseconds log_interval_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_report_ = Clock::now();
  bool drawn_ = false;
};

// "1:05:09" / "3:07": seconds as [h:]mm:ss.
std::string format_duration(double seconds);

}  // namespace sugar::train
