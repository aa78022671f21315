#include "sugar/report/curves.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "sugar/report/statistics.hpp"

namespace sugar::report {
namespace {

Curve curve_from(const std::map<int64_t, std::vector<double>>& values_by_epoch) {
  Curve curve;
  for (const auto& [epoch, values] : values_by_epoch) {
    if (values.empty()) continue;
    curve.epochs.push_back(epoch);
    curve.n.push_back(static_cast<int64_t>(values.size()));
    curve.mean.push_back(mean(values));
    curve.std.push_back(sample_std(values));
    curve.min.push_back(*std::min_element(values.begin(), values.end()));
    curve.max.push_back(*std::max_element(values.begin(), values.end()));
  }
  return curve;
}

}  // namespace

std::optional<double> eval_top1_of(const MetricsRow& row) {
  return row.evaluated ? std::optional(row.eval_top1) : std::nullopt;
}

std::optional<double> train_top1_of(const MetricsRow& row) {
  return std::isnan(row.train_top1) ? std::nullopt : std::optional(row.train_top1);
}

std::optional<double> top1_gap_of(const MetricsRow& row) {
  const std::optional<double> train = train_top1_of(row), eval = eval_top1_of(row);
  return train && eval ? std::optional(*train - *eval) : std::nullopt;
}

std::optional<double> train_loss_of(const MetricsRow& row) { return row.train_loss; }

Curve metrics_curve(const std::vector<RunData>& runs, const std::vector<size_t>& members, MetricOf metric) {
  std::map<int64_t, std::vector<double>> by_epoch;
  for (size_t r : members)
    for (const MetricsRow& row : runs[r].metrics)
      if (const std::optional<double> value = metric(row)) by_epoch[row.epoch].push_back(*value);
  return curve_from(by_epoch);
}

std::optional<EpochDrop> largest_drop(const std::vector<RunData>& runs, const std::vector<size_t>& members) {
  std::optional<EpochDrop> largest;
  for (size_t r : members) {
    const MetricsRow* previous = nullptr;
    for (const MetricsRow& row : runs[r].metrics) {
      if (!row.evaluated) continue;
      if (previous != nullptr) {
        const double change = row.eval_top1 - previous->eval_top1;
        if (change < 0 && (!largest || change < largest->change))
          largest = EpochDrop{change, runs[r].config.seed, previous->epoch, row.epoch};
      }
      previous = &row;
    }
  }
  return largest;
}

std::vector<SiteCurves> site_curves(const std::vector<RunData>& runs, const std::vector<size_t>& members) {
  std::vector<std::string> order;
  std::map<std::string, std::map<int64_t, std::vector<double>>> dead, reach;
  for (size_t r : members) {
    for (const NeuronRow& row : runs[r].neurons) {
      if (std::find(order.begin(), order.end(), row.site) == order.end()) order.push_back(row.site);
      if (!std::isnan(row.dead_fraction)) dead[row.site][row.epoch].push_back(row.dead_fraction);
      if (!std::isnan(row.grad_nonzero_fraction)) reach[row.site][row.epoch].push_back(row.grad_nonzero_fraction);
    }
  }
  std::vector<SiteCurves> sites;
  for (const std::string& site : order) sites.push_back({site, curve_from(dead[site]), curve_from(reach[site])});
  return sites;
}

}  // namespace sugar::report
