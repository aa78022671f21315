#include "report_plots.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "heat_map.hpp"
#include "line_plot.hpp"
#include "sugar/report/report_text.hpp"

namespace sugar::cli {
namespace {

// One colour per activation across all plots (the baseline first), so a line means the same in each.
std::vector<std::string> activation_order(const report::Report& report) {
  std::vector<std::string> order;
  for (const report::Group& g : report.groups)
    if (std::find(order.begin(), order.end(), g.activation) == order.end()) order.push_back(g.activation);
  std::stable_partition(order.begin(), order.end(),
                        [&](const std::string& a) { return a == report.options.baseline_activation; });
  return order;
}

// Each seed's test top-1, thin and faint, under the means: a swing of one seed shows as itself.
void add_seed_lines(LinePlot& plot, const report::Group& group, const std::vector<report::RunData>& runs,
                    size_t colour) {
  for (size_t r : group.runs) {
    LineSeries series;
    for (const report::MetricsRow& row : runs[r].metrics) {
      if (!row.evaluated) continue;
      series.x.push_back(static_cast<double>(row.epoch));
      series.y.push_back(row.eval_top1);
    }
    series.colour = colour;
    series.width = 1.0;
    series.opacity = 0.55;
    plot.series.push_back(std::move(series));
  }
}

LinePlot curve_plot(const report::Report& report, const report::Family& family, const std::string& metric,
                    const std::vector<report::RunData>& runs, const std::vector<std::string>& colours) {
  const std::string split = report.groups[family.groups.front()].eval_split;
  LinePlot plot;
  report::Curve report::Group::*curve = &report::Group::eval_top1;
  if (metric == "eval_top1") {
    plot.title = split + " top-1: " + family.label;
    plot.y_label = split + " top-1 (%)";
  } else if (metric == "train_loss") {
    curve = &report::Group::train_loss;
    plot.title = "train loss: " + family.label;
    plot.y_label = "train loss";
  } else {
    curve = &report::Group::top1_gap;
    plot.title = "train \u2212 " + split + " top-1: " + family.label;
    plot.y_label = "train \u2212 " + split + " top-1 (pp)";
  }
  plot.x_label = "epoch";
  plot.axes = PlotAxes::frame;
  plot.integer_x = true;
  const auto colour_of = [&](const report::Group& g) {
    return static_cast<size_t>(std::find(colours.begin(), colours.end(), g.activation) - colours.begin());
  };
  const bool seed_lines = metric == "eval_top1";
  if (seed_lines)
    for (size_t g : family.groups)
      if (report.groups[g].runs.size() > 1) add_seed_lines(plot, report.groups[g], runs, colour_of(report.groups[g]));
  for (size_t g : family.groups) {
    const report::Group& group = report.groups[g];
    const report::Curve& c = group.*curve;
    LineSeries series;
    series.x.assign(c.epochs.begin(), c.epochs.end());
    series.y = c.mean;
    series.band_low = c.min;
    series.band_high = c.max;
    series.colour = colour_of(group);
    plot.series.push_back(std::move(series));
    const size_t n = group.runs.size();
    const std::string spread = n == 1 ? ")" : seed_lines ? ", band min-max, thin: each seed)" : ", band min-max)";
    const std::string label = group.activation + " (mean of " + std::to_string(n) + (n == 1 ? " seed" : " seeds");
    plot.legend.push_back({{label + spread, plot.series.back().colour, false, 2.4, n > 1}});
  }
  return plot;
}

HeatMap site_heat_map(const report::Report& report, const report::Family& family, bool dead) {
  HeatMap map;
  const std::string what = dead ? "dead fraction" : "gradient reach (grad_nonzero_fraction)";
  map.title = what + " per site and epoch: " + family.label;
  map.value_label = what + ", mean over seeds";
  const auto curve_of = [dead](const report::SiteCurves& s) -> const report::Curve& {
    return dead ? s.dead_fraction : s.grad_nonzero_fraction;
  };
  for (size_t g : family.groups) {
    for (const report::SiteCurves& site : report.groups[g].sites) {
      if (std::find(map.rows.begin(), map.rows.end(), site.site) == map.rows.end()) map.rows.push_back(site.site);
      for (int64_t e : curve_of(site).epochs)
        if (std::find(map.columns.begin(), map.columns.end(), e) == map.columns.end()) map.columns.push_back(e);
    }
  }
  std::sort(map.columns.begin(), map.columns.end());
  for (size_t g : family.groups) {
    const report::Group& group = report.groups[g];
    if (group.sites.empty()) continue;
    HeatPanel panel;
    panel.title = group.activation + " (" + std::to_string(group.neuron_runs) +
                  (group.neuron_runs == 1 ? " run)" : " runs)");
    panel.values.assign(map.rows.size() * map.columns.size(), std::numeric_limits<double>::quiet_NaN());
    for (const report::SiteCurves& site : group.sites) {
      const size_t row = static_cast<size_t>(std::find(map.rows.begin(), map.rows.end(), site.site) - map.rows.begin());
      const report::Curve& c = curve_of(site);
      for (size_t i = 0; i < c.epochs.size(); ++i) {
        const size_t column = static_cast<size_t>(
            std::lower_bound(map.columns.begin(), map.columns.end(), c.epochs[i]) - map.columns.begin());
        panel.values[row * map.columns.size() + column] = c.mean[i];
      }
    }
    map.panels.push_back(std::move(panel));
  }
  return map;
}

}  // namespace

size_t write_report_plots(const report::Report& report, const std::vector<report::RunData>& runs,
                          report::ReportDir& out) {
  const std::vector<std::string> colours = activation_order(report);
  size_t written = 0;
  for (const report::Family& family : report.families) {
    for (const std::string& metric : report::family_plots(report, family)) {
      const std::string path = out.claim(report::plot_file(family, metric));
      if (metric == "dead_fraction" || metric == "grad_reach")
        render_heat_map(site_heat_map(report, family, metric == "dead_fraction"), path);
      else
        render_line_plot(curve_plot(report, family, metric, runs, colours), path);
      ++written;
    }
  }
  return written;
}

}  // namespace sugar::cli
