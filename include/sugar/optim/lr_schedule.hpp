#pragma once
// Learning-rate schedules as pure functions of the iteration index (0 = the first optimizer step).
// A schedule steps once per iteration: before optimizer step k the trainer calls
// optimizer.set_lr(schedule.lr(k)). Epoch-based PyTorch recipes convert by multiplying their epoch
// counts by the iterations per epoch.
//
// Each factory validates its arguments (sugar::Error naming the schedule and the value) and each
// formula is PyTorch's closed form:
//   constant   lr
//   step       lr * gamma^floor(k / step_size)                                       (StepLR)
//   multistep  lr * gamma^(number of milestones <= k)                                (MultiStepLR)
//   cosine     warm-up  k < W:  lr * (f + (1 - f) * k / W)                            (LinearLR)
//              then     t = min(k - W, T - W):
//                       eta_min + (lr - eta_min) * (1 + cos(pi * t / (T - W))) / 2  (CosineAnnealingLR)
//              T = total_iters, W = warmup_iters, f = warmup_start_factor; k >= T holds eta_min.
//   one_cycle  OneCycleLR(max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal,
//              three_phase), including its momentum cycle (cycle_momentum).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sugar/name_table.hpp"

namespace sugar::optim {

// The schedules a config can name (schedule.name); each is one of LrSchedule's builders below.
enum class ScheduleKind { constant, step, multistep, cosine, one_cycle };
// "constant", "step", "multistep", "cosine", "one_cycle"
const NameTable<ScheduleKind>& names_of(ScheduleKind);

struct CosineOptions {
  int64_t total_iters = 0;            // T (T_max of the whole schedule, warm-up included); > 0
  double eta_min = 0.0;               // >= 0
  int64_t warmup_iters = 0;           // W in [0, T)
  double warmup_start_factor = 1.0 / 3.0;  // f in [0, 1]; PyTorch LinearLR's default
};

enum class Anneal { cos, linear };

struct OneCycleOptions {
  int64_t total_steps = 0;  // > 0
  double pct_start = 0.3;
  Anneal anneal = Anneal::cos;
  double div_factor = 25.0;         // initial_lr = max_lr / div_factor
  double final_div_factor = 1e4;    // min_lr = initial_lr / final_div_factor
  bool three_phase = false;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
};

class LrSchedule {
 public:
  static LrSchedule constant(double lr);
  static LrSchedule step(double lr, int64_t step_size, double gamma = 0.1);
  static LrSchedule multistep(double lr, std::vector<int64_t> milestones, double gamma = 0.1);
  static LrSchedule cosine(double lr, const CosineOptions& options);
  static LrSchedule one_cycle(double max_lr, const OneCycleOptions& options);

  // The learning rate for iteration k >= 0 (one-cycle: k <= total_steps, as PyTorch).
  double lr(int64_t iteration) const;
  // The momentum (SGD) or beta1 (Adam) for iteration k, for schedules that cycle it (one-cycle with
  // cycle_momentum); nullopt otherwise.
  std::optional<double> momentum(int64_t iteration) const;
  // "constant", "step", "multistep", "cosine", "one_cycle".
  const std::string& kind() const { return kind_; }

 private:
  using Fn = std::function<double(int64_t)>;
  LrSchedule(std::string kind, Fn lr, Fn momentum = nullptr)
      : kind_(std::move(kind)), lr_(std::move(lr)), momentum_(std::move(momentum)) {}
  void check_iteration(int64_t iteration) const;

  std::string kind_;
  Fn lr_;
  Fn momentum_;
};

}  // namespace sugar::optim
