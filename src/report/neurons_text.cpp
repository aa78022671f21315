// The "Dead neurons" section of report.md and sites.csv: each activation site's dead fraction at the end
// of training, and its dead fraction and gradient reach over the epochs (heat maps, numbers in sites.csv).
#include <algorithm>
#include <cmath>
#include <set>

#include "sugar/report/report_text.hpp"
#include "text_table.hpp"

namespace sugar::report {
namespace {

using namespace text;

// Dead fraction per site at the last epoch, one column per group of the family that wrote neurons.csv.
std::string last_epoch_table(const Report& report, const Family& family) {
  std::vector<size_t> with_data;
  for (size_t g : family.groups)
    if (!report.groups[g].dead.empty()) with_data.push_back(g);
  if (with_data.empty()) return "";
  Table table;
  table.headers.push_back("site");
  std::vector<std::string> sites;
  for (size_t g : with_data) {
    const Group& group = report.groups[g];
    table.headers.push_back(group.activation + " (" + std::to_string(group.neuron_runs) +
                            (group.neuron_runs == 1 ? " run)" : " runs)"));
    for (const SiteDeadFraction& site : group.dead)
      if (std::find(sites.begin(), sites.end(), site.site) == sites.end()) sites.push_back(site.site);
  }
  for (const std::string& site : sites) {
    std::vector<std::string> row{site};
    for (size_t g : with_data) {
      const std::vector<SiteDeadFraction>& dead = report.groups[g].dead;
      const auto it = std::find_if(dead.begin(), dead.end(), [&](const SiteDeadFraction& s) { return s.site == site; });
      row.push_back(it == dead.end() || std::isnan(it->mean) ? kDash : fixed(100 * it->mean, 1));
    }
    table.rows.push_back(std::move(row));
  }
  return markdown(table) + "\n";
}

}  // namespace

bool has_site_curves(const Report& report, const Family& family) {
  return std::any_of(family.groups.begin(), family.groups.end(),
                     [&](size_t g) { return !report.groups[g].sites.empty(); });
}

std::string neurons_markdown(const Report& report, bool plots) {
  const bool any = std::any_of(report.families.begin(), report.families.end(),
                               [&](const Family& f) { return has_site_curves(report, f); });
  if (!any) return "";
  std::string md = "## Dead neurons\n\n";
  md += "`dead_fraction` of each activation site at the last epoch in neurons.csv, in percent: the share of the "
        "site's channels whose input x was not > 0 for any element of any test image (defined by x, so it means "
        "the same for every activation; train/neuron_stats.hpp). Mean over the seeds that wrote neurons.csv; "
        "\u2014: no value.\n\n";
  if (plots) {
    md += "Over the epochs, one panel per activation, a row per site (in the network's order) and a column per "
          "epoch: the mean over seeds of `dead_fraction`, and of `grad_nonzero_fraction`, the gradient's reach: the "
          "share of the site's units (one per channel and position) that received a non-zero gradient dL/dx at "
          "least once in the epoch's training steps. ";
  }
  md += "Every site and epoch, with the spread over seeds: sites.csv.\n\n";
  for (const Family& family : report.families) {
    if (!has_site_curves(report, family)) continue;
    md += "### " + family.label + "\n\n" + last_epoch_table(report, family);
    if (plots) {
      for (const char* metric : {"dead_fraction", "grad_reach"})
        md += "![" + std::string(metric) + ", " + family.label + "](" + plot_file(family, metric) + ")\n";
      md += "\n";
    }
  }
  return md;
}

std::string format_sites_csv(const Report& report) {
  std::vector<std::string> headers = report.columns;
  headers.push_back("site");
  headers.push_back("epoch");
  for (const char* name : {"dead_fraction", "grad_nonzero_fraction"})
    for (const std::string& column : curve_headers(name)) headers.push_back(column);
  std::string csv = csv_line(headers);
  for (const Group& g : report.groups) {
    for (const SiteCurves& site : g.sites) {
      std::set<int64_t> epochs(site.dead_fraction.epochs.begin(), site.dead_fraction.epochs.end());
      epochs.insert(site.grad_nonzero_fraction.epochs.begin(), site.grad_nonzero_fraction.epochs.end());
      for (int64_t epoch : epochs) {
        std::vector<std::string> cells = g.values;
        cells.push_back(site.site);
        cells.push_back(std::to_string(epoch));
        curve_cells(cells, site.dead_fraction, epoch);
        curve_cells(cells, site.grad_nonzero_fraction, epoch);
        csv += csv_line(cells);
      }
    }
  }
  return csv;
}

}  // namespace sugar::report
