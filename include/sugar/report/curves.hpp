#pragma once
// Per-epoch statistics over the runs of a group, for `sugar report`: curves of a metrics.csv column
// (test top-1, train top-1, their gap, train loss), the largest fall of a run's test accuracy from one
// evaluation to the next, and each activation site's dead fraction and gradient reach from neurons.csv.
//
// A curve has a point at every epoch where some run of the group has a value; `n` says how many runs
// made it (runs of a group can differ in length only when unfinished, and those are not grouped, but
// neurons.csv may skip epochs). The spread is the sample std (NaN for one run) and the range.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sugar/report/run_data.hpp"

namespace sugar::report {

struct Curve {
  std::vector<int64_t> epochs;
  std::vector<int64_t> n;  // runs with a value at the epoch
  std::vector<double> mean, std, min, max;
};

// The value of a metrics.csv row that a curve follows; none when the row has none (an epoch without
// evaluation, a file without train_top1).
using MetricOf = std::optional<double> (*)(const MetricsRow& row);
std::optional<double> eval_top1_of(const MetricsRow& row);
std::optional<double> train_top1_of(const MetricsRow& row);
// train_top1 - eval_top1, percentage points. train_top1 is the share of training images the model
// classified correctly while it trained during the epoch (training mode, weights changing after every
// batch), eval_top1 the evaluation after it: the gap is not a clean generalisation gap, but its trend
// over epochs and its difference between activations are what it shows.
std::optional<double> top1_gap_of(const MetricsRow& row);
std::optional<double> train_loss_of(const MetricsRow& row);

// The curve of `metric` over the runs `members` (indices into `runs`).
Curve metrics_curve(const std::vector<RunData>& runs, const std::vector<size_t>& members, MetricOf metric);

// The largest fall of eval_top1 between two consecutive evaluations of one run (change < 0), over the
// runs `members`; none when no run's accuracy ever fell. The first such fall wins a tie, runs taken in
// the order given.
struct EpochDrop {
  double change = 0;  // percentage points, negative
  uint64_t seed = 0;
  int64_t from_epoch = 0, to_epoch = 0;
};
std::optional<EpochDrop> largest_drop(const std::vector<RunData>& runs, const std::vector<size_t>& members);

// One activation site over the epochs of neurons.csv: dead_fraction and grad_nonzero_fraction, as curves
// over the runs that wrote them (a NaN, written for a site that saw no input, is left out).
struct SiteCurves {
  std::string site;
  Curve dead_fraction, grad_nonzero_fraction;
};
// The sites in the order the first run's neurons.csv lists them (the network's order).
std::vector<SiteCurves> site_curves(const std::vector<RunData>& runs, const std::vector<size_t>& members);

}  // namespace sugar::report
