#include "sugar/train/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace sugar::train {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<int64_t>(std::llround(seconds));
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return buffer;
}

EpochProgress::EpochProgress(std::string label, int64_t total_batches, bool terminal, LogLine log_line,
                             std::chrono::milliseconds log_interval)
    : label_(std::move(label)),
      total_batches_(total_batches),
      terminal_(terminal),
      log_line_(std::move(log_line)),
      log_interval_(log_interval) {}

std::string EpochProgress::summary(int64_t batches_done, int64_t images_done, double loss, double top1) const {
  return label_ + " " + numbers(batches_done, images_done, loss, top1);
}

std::string EpochProgress::numbers(int64_t batches_done, int64_t images_done, double loss, double top1) const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(images_done) / elapsed : 0.0;
  const double eta = batches_done > 0 ? elapsed * static_cast<double>(total_batches_ - batches_done) /
                                            static_cast<double>(batches_done)
                                      : NAN;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "%lld/%lld  loss %.4f  acc %.1f%%  %.0f img/s  ETA %s",
                static_cast<long long>(batches_done), static_cast<long long>(total_batches_), loss, top1, rate,
                format_duration(eta).c_str());
  return buffer;
}

void EpochProgress::update(int64_t batches_done, int64_t images_done, double loss, double top1) {
  const auto now = Clock::now();
  if (terminal_) {
    // Redraw at most 5 times a second, and always for the last batch.
    if (drawn_ && batches_done < total_batches_ && now - last_report_ < std::chrono::milliseconds(200)) return;
    last_report_ = now;
    constexpr int kWidth = 20;
    const int filled = total_batches_ > 0 ? static_cast<int>(kWidth * batches_done / total_batches_) : kWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    // \033[K clears what a longer previous line left.
    std::fprintf(stderr, "\r%s [%s] %s\033[K", label_.c_str(), bar.c_str(),
                 numbers(batches_done, images_done, loss, top1).c_str());
    std::fflush(stderr);
    drawn_ = true;
    return;
  }
  if (now - last_report_ >= log_interval_ && log_line_) {
    last_report_ = now;
    log_line_(summary(batches_done, images_done, loss, top1));
  }
}

void EpochProgress::finish() {
  if (terminal_ && drawn_) {
    std::fprintf(stderr, "\n");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace sugar::train
