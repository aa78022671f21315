#pragma once
// The report as text: the table printed on the terminal, report.md and report.csv.
//
// report.md: the main table (one row per group), what each column means, links to the plots, the
// dead-neuron summary when runs wrote neurons.csv (dead fraction per site at the end of training,
// one column per activation) and the unfinished runs. report.csv: one row per group with full
// precision and empty cells for what does not apply, for scripts and spreadsheets.
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

// The plot file names of a family: "eval_top1_<stem>.png" and "train_loss_<stem>.png".
std::string plot_file(const Family& family, const std::string& metric);

}  // namespace sugar::report
