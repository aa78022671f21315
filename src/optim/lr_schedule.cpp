#include "sugar/optim/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

#include "sugar/error.hpp"

namespace sugar::optim {

namespace {

void check_base_lr(const char* kind, double lr) {
  SUGAR_CHECK(std::isfinite(lr) && lr > 0, "lr schedule ", kind, ": learning rate must be > 0, got ", lr);
}

void check_gamma(const char* kind, double gamma) {
  SUGAR_CHECK(std::isfinite(gamma) && gamma > 0, "lr schedule ", kind, ": gamma must be > 0, got ", gamma);
}

// PyTorch's OneCycleLR annealing functions, pct in [0, 1] going from start to end.
double anneal(Anneal kind, double start, double end, double pct) {
  if (kind == Anneal::linear) return (end - start) * pct + start;
  return end + (start - end) / 2.0 * (std::cos(M_PI * pct) + 1.0);
}

struct Phase {
  double end_step;
  double start_lr, end_lr;
  double start_momentum, end_momentum;
};

// OneCycleLR.get_lr: find the phase holding the step (the last phase takes everything beyond).
template <class Pick>
double one_cycle_value(const std::vector<Phase>& phases, Anneal kind, int64_t iteration, Pick pick) {
  const double step = static_cast<double>(iteration);
  double start_step = 0;
  for (size_t i = 0; i < phases.size(); ++i) {
    const Phase& phase = phases[i];
    if (step <= phase.end_step || i + 1 == phases.size()) {
      const double pct = (step - start_step) / (phase.end_step - start_step);
      const auto [from, to] = pick(phase);
      return anneal(kind, from, to, pct);
    }
    start_step = phase.end_step;
  }
  return 0;  // unreachable: the last phase always matches
}

}  // namespace

void LrSchedule::check_iteration(int64_t iteration) const {
  SUGAR_CHECK(iteration >= 0, "lr schedule ", kind_, ": iteration must be >= 0, got ", iteration);
}

double LrSchedule::lr(int64_t iteration) const {
  check_iteration(iteration);
  return lr_(iteration);
}

std::optional<double> LrSchedule::momentum(int64_t iteration) const {
  check_iteration(iteration);
  if (!momentum_) return std::nullopt;
  return momentum_(iteration);
}

const NameTable<ScheduleKind>& names_of(ScheduleKind) {
  static const NameTable<ScheduleKind> table{{ScheduleKind::constant, "constant"},
                                             {ScheduleKind::step, "step"},
                                             {ScheduleKind::multistep, "multistep"},
                                             {ScheduleKind::cosine, "cosine"},
                                             {ScheduleKind::one_cycle, "one_cycle"}};
  return table;
}

LrSchedule LrSchedule::constant(double lr) {
  check_base_lr("constant", lr);
  return LrSchedule("constant", [lr](int64_t) { return lr; });
}

LrSchedule LrSchedule::step(double lr, int64_t step_size, double gamma) {
  check_base_lr("step", lr);
  check_gamma("step", gamma);
  SUGAR_CHECK(step_size > 0, "lr schedule step: step_size must be > 0, got ", step_size);
  return LrSchedule("step", [=](int64_t k) { return lr * std::pow(gamma, static_cast<double>(k / step_size)); });
}

LrSchedule LrSchedule::multistep(double lr, std::vector<int64_t> milestones, double gamma) {
  check_base_lr("multistep", lr);
  check_gamma("multistep", gamma);
  SUGAR_CHECK(!milestones.empty(), "lr schedule multistep: needs at least one milestone");
  for (size_t i = 0; i < milestones.size(); ++i) {
    SUGAR_CHECK(milestones[i] > 0, "lr schedule multistep: milestones must be > 0, got ", milestones[i]);
    SUGAR_CHECK(i == 0 || milestones[i] > milestones[i - 1],
                "lr schedule multistep: milestones must be strictly increasing, got ", milestones[i - 1],
                " then ", milestones[i]);
  }
  return LrSchedule("multistep", [=](int64_t k) {
    // bisect_right: a milestone m has taken effect once k >= m.
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), k) - milestones.begin();
    return lr * std::pow(gamma, static_cast<double>(passed));
  });
}

LrSchedule LrSchedule::cosine(double lr, const CosineOptions& o) {
  check_base_lr("cosine", lr);
  SUGAR_CHECK(o.total_iters > 0, "lr schedule cosine: total_iters must be > 0, got ", o.total_iters);
  SUGAR_CHECK(std::isfinite(o.eta_min) && o.eta_min >= 0, "lr schedule cosine: eta_min must be >= 0, got ",
              o.eta_min);
  SUGAR_CHECK(o.warmup_iters >= 0 && o.warmup_iters < o.total_iters, "lr schedule cosine: warmup_iters must be in [0, ",
              o.total_iters, ") (total_iters), got ", o.warmup_iters);
  SUGAR_CHECK(std::isfinite(o.warmup_start_factor) && o.warmup_start_factor >= 0 && o.warmup_start_factor <= 1,
              "lr schedule cosine: warmup_start_factor must be in [0, 1], got ", o.warmup_start_factor);
  return LrSchedule("cosine", [=](int64_t k) {
    const int64_t warmup = o.warmup_iters;
    if (k < warmup) {
      const double f = o.warmup_start_factor;
      return lr * (f + (1.0 - f) * static_cast<double>(k) / static_cast<double>(warmup));
    }
    const int64_t span = o.total_iters - warmup;
    const int64_t t = std::min(k - warmup, span);
    return o.eta_min + (lr - o.eta_min) * (1.0 + std::cos(M_PI * static_cast<double>(t) / span)) / 2.0;
  });
}

LrSchedule LrSchedule::one_cycle(double max_lr, const OneCycleOptions& o) {
  check_base_lr("one_cycle", max_lr);
  SUGAR_CHECK(o.total_steps > 0, "lr schedule one_cycle: total_steps must be > 0, got ", o.total_steps);
  SUGAR_CHECK(std::isfinite(o.pct_start) && o.pct_start >= 0 && o.pct_start <= 1,
              "lr schedule one_cycle: pct_start must be in [0, 1], got ", o.pct_start);
  SUGAR_CHECK(std::isfinite(o.div_factor) && o.div_factor > 0, "lr schedule one_cycle: div_factor must be > 0, got ",
              o.div_factor);
  SUGAR_CHECK(std::isfinite(o.final_div_factor) && o.final_div_factor > 0,
              "lr schedule one_cycle: final_div_factor must be > 0, got ", o.final_div_factor);
  if (o.cycle_momentum)
    SUGAR_CHECK(o.base_momentum >= 0 && o.base_momentum <= o.max_momentum && o.max_momentum < 1,
                "lr schedule one_cycle: need 0 <= base_momentum <= max_momentum < 1, got ", o.base_momentum, " and ",
                o.max_momentum);

  const double initial_lr = max_lr / o.div_factor;
  const double min_lr = initial_lr / o.final_div_factor;
  const double total = static_cast<double>(o.total_steps);
  const double up_end = o.pct_start * total - 1.0;  // PyTorch: float(pct_start * total_steps) - 1
  const double lo = o.base_momentum, hi = o.max_momentum;
  std::vector<Phase> phases;
  if (o.three_phase) {
    phases = {{up_end, initial_lr, max_lr, hi, lo},
              {2.0 * o.pct_start * total - 2.0, max_lr, initial_lr, lo, hi},
              {total - 1.0, initial_lr, min_lr, hi, hi}};
  } else {
    phases = {{up_end, initial_lr, max_lr, hi, lo}, {total - 1.0, max_lr, min_lr, lo, hi}};
  }
  // Every phase must span at least part of a step, or PyTorch's pct divides by zero (or goes back).
  double previous_end = 0;
  for (const Phase& phase : phases) {
    SUGAR_CHECK(phase.end_step > previous_end, "lr schedule one_cycle: with total_steps ", o.total_steps,
                " and pct_start ", o.pct_start, " a phase would be empty (phase ends at step ", phase.end_step,
                ", previous at ", previous_end, "); use more steps or another pct_start");
    previous_end = phase.end_step;
  }

  const Anneal kind = o.anneal;
  const int64_t total_steps = o.total_steps;
  auto lr_fn = [=](int64_t k) {
    SUGAR_CHECK(k <= total_steps, "lr schedule one_cycle: iteration ", k, " is beyond total_steps ", total_steps);
    return one_cycle_value(phases, kind, k, [](const Phase& p) { return std::pair(p.start_lr, p.end_lr); });
  };
  Fn momentum_fn;
  if (o.cycle_momentum)
    momentum_fn = [=](int64_t k) {
      SUGAR_CHECK(k <= total_steps, "lr schedule one_cycle: iteration ", k, " is beyond total_steps ", total_steps);
      return one_cycle_value(phases, kind, k,
                             [](const Phase& p) { return std::pair(p.start_momentum, p.end_momentum); });
    };
  return LrSchedule("one_cycle", lr_fn, momentum_fn);
}

}  // namespace sugar::optim
