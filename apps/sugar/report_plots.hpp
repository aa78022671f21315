#pragma once
// The PNG plots of `sugar report`, per family (groups that differ only in the activation): the test
// top-1, train loss and train/test gap against epoch (mean over seeds, min-max band; the test top-1
// with a thin line per seed), and heat maps of each activation site's dead fraction and gradient reach
// per epoch. Which plots a family has, and their file names, is report_text.hpp's family_plots.
#include <cstddef>
#include <vector>

#include "sugar/report/aggregate.hpp"
#include "sugar/report/report_dir.hpp"

namespace sugar::cli {

// Draws every plot of every family into `out`; returns how many. Needs cairo (line_plots_available()).
size_t write_report_plots(const report::Report& report, const std::vector<report::RunData>& runs,
                          report::ReportDir& out);

}  // namespace sugar::cli
