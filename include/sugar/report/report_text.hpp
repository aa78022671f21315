#pragma once
// The report as text: the table printed on the terminal, report.md and the CSV files.
//
// report.md: the main table (one row per group) and what each column means; links to the plots; the
// test top-1 and the train/test gap per epoch with their spread over seeds (epochs_text.cpp); when runs
// wrote neurons.csv, the dead fraction per site at the end of training and heat maps of each site's
// dead fraction and gradient reach over the epochs (neurons_text.cpp); the unfinished runs.
// The CSV files, full precision and empty cells for what does not apply, for scripts and spreadsheets:
// report.csv (one row per group), epochs.csv (per group and epoch) and sites.csv (per group, site and
// epoch; written when runs have neurons.csv).
#include <string>
#include <vector>

#include "sugar/report/aggregate.hpp"

namespace sugar::report {

// The main table as aligned text (the same rows as report.md), followed by the unfinished runs.
std::string format_terminal(const Report& report, const std::vector<RunData>& runs);

struct MarkdownOptions {
  std::vector<std::string> inputs;  // the RUNS_DIR arguments, named in the header
  bool plots = true;                // false: say why there are no plots instead of linking them
  std::string no_plots_reason;
  std::string reference_section;    // markdown placed after the accuracy table (--reference), or empty
};
std::string format_markdown(const Report& report, const std::vector<RunData>& runs, const MarkdownOptions& options);

std::string format_csv(const Report& report);
std::string format_epochs_csv(const Report& report);
std::string format_sites_csv(const Report& report);

// The sections of report.md over the epochs: accuracy and gap tables, and the dead-neuron section
// (empty when no run wrote neurons.csv; `plots` links the heat maps).
std::string epochs_markdown(const Report& report);
std::string neurons_markdown(const Report& report, bool plots);

// Whether some group of the family has neurons.csv statistics (and so heat maps).
bool has_site_curves(const Report& report, const Family& family);

// The plots of a family, by metric: eval_top1 and train_loss; top1_gap when its runs have train_top1;
// the heat maps dead_fraction and grad_reach when they have neurons.csv. Its file: "<metric>_<stem>.png".
std::vector<std::string> family_plots(const Report& report, const Family& family);
std::string plot_file(const Family& family, const std::string& metric);

}  // namespace sugar::report
