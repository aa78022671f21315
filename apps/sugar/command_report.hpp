#pragma once
// `sugar report RUNS_DIR... [--out DIR] [--target-acc X] [--ignore KEY]... [--baseline SPEC]`:
// reads every run under the given folders, groups replicates (seeds) of each configuration, and
// writes report.md, report.csv and the curve plots into --out (default: report), printing the table.
// The numbers and their definitions are in include/sugar/report/aggregate.hpp.
#include "command.hpp"

namespace sugar::cli {

Command add_report_command(CLI::App& parent);

}  // namespace sugar::cli
