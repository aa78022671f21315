// LR schedules at chosen iterations against PyTorch's closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "sugar/error.hpp"
#include "sugar/optim/lr_schedule.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/train/builders.hpp"

using namespace sugar;
using namespace sugar::optim;

TEST(LrSchedule, ConstantNeverChanges) {
  const LrSchedule s = LrSchedule::constant(0.05);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(123456), 0.05);
  EXPECT_FALSE(s.momentum(0).has_value());
  EXPECT_THROW(s.lr(-1), Error);
}

TEST(LrSchedule, StepDecaysEveryStepSize) {
  const LrSchedule s = LrSchedule::step(0.1, 3, 0.5);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(5), 0.05);
  EXPECT_DOUBLE_EQ(s.lr(6), 0.025);
  EXPECT_THROW(LrSchedule::step(0.1, 0, 0.5), Error);
}

TEST(LrSchedule, MultistepDecaysAtEachMilestone) {
  const LrSchedule s = LrSchedule::multistep(0.1, {2, 5}, 0.1);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(1), 0.1);
  EXPECT_NEAR(s.lr(2), 0.01, 1e-15);  // the milestone itself already uses the decayed rate
  EXPECT_NEAR(s.lr(4), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(5), 0.001, 1e-15);
  EXPECT_NEAR(s.lr(1000), 0.001, 1e-15);
  EXPECT_THROW(LrSchedule::multistep(0.1, {5, 2}, 0.1), Error);
  EXPECT_THROW(LrSchedule::multistep(0.1, {}, 0.1), Error);
}

TEST(LrSchedule, CosineStartsAtLrHalvesAtMiddleEndsAtEtaMin) {
  CosineOptions o;
  o.total_iters = 100;
  o.eta_min = 0.001;
  const LrSchedule s = LrSchedule::cosine(0.1, o);
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_NEAR(s.lr(50), (0.1 + 0.001) / 2, 1e-15);
  EXPECT_NEAR(s.lr(25), 0.001 + (0.1 - 0.001) * (1 + std::cos(M_PI / 4)) / 2, 1e-15);
  EXPECT_NEAR(s.lr(100), 0.001, 1e-15);
  EXPECT_NEAR(s.lr(150), 0.001, 1e-15);  // held at eta_min past the end
}

TEST(LrSchedule, CosineWarmupRampsLinearlyThenAnneals) {
  CosineOptions o;
  o.total_iters = 110;
  o.warmup_iters = 10;
  o.warmup_start_factor = 0.1;
  const LrSchedule s = LrSchedule::cosine(0.1, o);
  EXPECT_NEAR(s.lr(0), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(5), 0.1 * (0.1 + 0.9 * 0.5), 1e-15);
  EXPECT_NEAR(s.lr(9), 0.1 * (0.1 + 0.9 * 0.9), 1e-15);
  EXPECT_NEAR(s.lr(10), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(60), 0.05, 1e-15);  // half-way through the 100 cosine iterations
  EXPECT_NEAR(s.lr(110), 0.0, 1e-15);
  CosineOptions bad = o;
  bad.warmup_iters = 110;
  EXPECT_THROW(LrSchedule::cosine(0.1, bad), Error);
  bad = o;
  bad.total_iters = 0;
  EXPECT_THROW(LrSchedule::cosine(0.1, bad), Error);
  bad = o;
  bad.warmup_start_factor = 1.5;
  EXPECT_THROW(LrSchedule::cosine(0.1, bad), Error);
}

TEST(LrSchedule, OneCycleMatchesPytorchDefaults) {
  OneCycleOptions o;
  o.total_steps = 100;
  const LrSchedule s = LrSchedule::one_cycle(0.1, o);
  const double initial = 0.1 / 25, min_lr = initial / 1e4;
  // Phase 1 ends at step 0.3 * 100 - 1 = 29 (PyTorch's end_step), phase 2 at 99.
  EXPECT_NEAR(s.lr(0), initial, 1e-15);
  EXPECT_NEAR(s.lr(29), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(99), min_lr, 1e-15);
  // Cosine annealing: half-way through phase 1 (pct 14.5 / 29 = 0.5 is not an integer step, take
  // step 10) and exactly half-way through phase 2 (step 64 = 29 + 35 of 70).
  EXPECT_NEAR(s.lr(10), 0.1 + (initial - 0.1) / 2 * (std::cos(M_PI * 10 / 29) + 1), 1e-15);
  EXPECT_NEAR(s.lr(64), min_lr + (0.1 - min_lr) / 2, 1e-15);
  // Momentum runs the other way: max 0.95 at the start and end, base 0.85 at the peak.
  EXPECT_NEAR(*s.momentum(0), 0.95, 1e-15);
  EXPECT_NEAR(*s.momentum(29), 0.85, 1e-15);
  EXPECT_NEAR(*s.momentum(64), 0.90, 1e-15);
  EXPECT_NEAR(*s.momentum(99), 0.95, 1e-15);
  EXPECT_THROW(s.lr(101), Error);
}

TEST(LrSchedule, OneCycleThreePhaseAndLinearAnneal) {
  OneCycleOptions o;
  o.total_steps = 100;
  o.three_phase = true;
  o.anneal = Anneal::linear;
  const LrSchedule s = LrSchedule::one_cycle(1.0, o);
  // Phases end at 29 (up to max), 58 (back to initial) and 99 (down to min).
  EXPECT_NEAR(s.lr(0), 0.04, 1e-15);
  EXPECT_NEAR(s.lr(29), 1.0, 1e-15);
  EXPECT_NEAR(s.lr(58), 0.04, 1e-15);
  EXPECT_NEAR(s.lr(99), 0.04 / 1e4, 1e-15);
  EXPECT_NEAR(s.lr(20), 0.04 + (1.0 - 0.04) * 20 / 29, 1e-15);
  OneCycleOptions too_short;
  too_short.total_steps = 3;  // 0.3 * 3 - 1 < 0: the warm-up phase would be empty
  EXPECT_THROW(LrSchedule::one_cycle(0.1, too_short), Error);
  EXPECT_THROW(LrSchedule::one_cycle(0.0, o), Error);
}

// Epochs times iterations per epoch used to wrap around int64 ("total_iters must be > 0, got -4");
// now the product is checked, and every schedule problem is a usage error naming what to change.
TEST(LrSchedule, BuildScheduleRefusesStepCountsBeyondInt64) {
  sugar::config::ExperimentConfig c = sugar::config::load_config_text("train: {epochs: 1000000}\n", "x.yaml");
  const int64_t huge_epoch = int64_t{1} << 44;  // 10^6 epochs x 2^44 steps > 2^63
  using sugar::optim::ScheduleKind;
  for (const ScheduleKind schedule : {ScheduleKind::cosine, ScheduleKind::one_cycle, ScheduleKind::constant}) {
    c.schedule.name = schedule;
    try {
      sugar::train::build_schedule(c, huge_epoch);
      ADD_FAILURE() << sugar::name_of(schedule) << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), sugar::ErrorKind::usage);
      EXPECT_EQ(std::string(e.what()),
                "train.epochs: 1000000 epochs of 17592186044416 steps is more steps than a 64-bit count holds; "
                "expected fewer epochs");
    }
  }
  // Just below the limit: 10^6 x 2^43 = 8.8e18 < 2^63 builds.
  c.schedule.name = sugar::optim::ScheduleKind::cosine;
  EXPECT_NO_THROW(sugar::train::build_schedule(c, int64_t{1} << 43));
  // A one-cycle with an empty phase is the config's fault: exit 2, not 1.
  c.schedule.name = sugar::optim::ScheduleKind::one_cycle;
  c.train.epochs = 1;
  try {
    sugar::train::build_schedule(c, 3);
    ADD_FAILURE() << "one_cycle over 3 steps: no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), sugar::ErrorKind::usage);
    EXPECT_EQ(std::string(e.what()).rfind("schedule: lr schedule one_cycle: with total_steps 3", 0), 0u) << e.what();
  }
}
