// `sugar report`: run directories in, report.md / report.csv / PNG curves out, the table on stdout.
#include "command_report.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "line_plot.hpp"
#include "option_checks.hpp"
#include "report_plots.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/error.hpp"
#include "sugar/report/aggregate.hpp"
#include "sugar/report/reference.hpp"
#include "sugar/report/reference_text.hpp"
#include "sugar/report/report_dir.hpp"
#include "sugar/report/report_text.hpp"

namespace sugar::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  std::string out = "report";
  std::optional<double> target_acc;
  std::vector<std::string> ignore;
  std::string baseline = "relu";
  std::optional<std::string> reference;
};

int run_report(const ReportArgs& args) {
  // The reference tables first: a mistake in them ends the command before anything is read or written.
  std::optional<report::Reference> reference;
  if (args.reference) reference = report::read_reference(*args.reference);
  std::vector<report::RunData> runs;
  for (const std::string& dir : report::find_run_dirs(args.inputs)) runs.push_back(report::load_run(dir));
  report::ReportOptions options;
  options.ignore_keys = args.ignore;
  options.target_acc = args.target_acc;
  options.baseline_activation = activations::ActivationSpec::parse(args.baseline).to_string();
  const report::Report report = report::build_report(runs, options);
  if (report.groups.empty())
    spdlog::warn("report: none of the {} runs has finished; only the unfinished list is written", runs.size());

  std::optional<report::ReferenceComparison> comparison;
  if (reference) comparison = report::compare_to_reference(report, runs, *reference);

  report::ReportDir out(args.out);
  report::MarkdownOptions markdown;
  markdown.inputs = args.inputs;
  if (comparison) markdown.reference_section = report::format_reference_markdown(report, *reference, *comparison);
  markdown.plots = line_plots_available() && !report.groups.empty();
  markdown.no_plots_reason = line_plots_available() ? "no finished runs."
                                                    : "this sugar was built without cairo (install libcairo2-dev "
                                                      "and rebuild).";
  size_t plots = 0;
  if (markdown.plots) {
    plots = write_report_plots(report, runs, out);
  } else if (!line_plots_available()) {
    spdlog::warn("report: built without cairo, so no plots (install libcairo2-dev and rebuild)");
  }
  out.write("report.md", report::format_markdown(report, runs, markdown));
  out.write("report.csv", report::format_csv(report));
  out.write("epochs.csv", report::format_epochs_csv(report));
  const bool neurons = std::any_of(report.families.begin(), report.families.end(),
                                   [&](const report::Family& f) { return report::has_site_curves(report, f); });
  if (neurons) out.write("sites.csv", report::format_sites_csv(report));
  if (comparison)
    out.write(report::kReferenceCsvFile, report::format_reference_csv(report, *reference, *comparison));
  out.finish();

  std::cout << report::format_terminal(report, runs);
  if (comparison) std::cout << report::format_reference_terminal(report, *reference, *comparison);
  std::cout << std::flush;
  spdlog::info("report: {} runs, {} configurations, {} unfinished; wrote {}/report.md, report.csv, epochs.csv{}{}{}",
               runs.size(), report.groups.size(), report.unfinished.size(), out.dir(), neurons ? ", sites.csv" : "",
               comparison ? ", reference.csv" : "", plots > 0 ? " and " + std::to_string(plots) + " plots" : "");
  return 0;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* app = parent.add_subcommand(
      "report", "Compare runs: accuracy over seeds, paired difference to ReLU, curves (report.md, CSV files, PNG)");
  app->add_option("RUNS_DIR", args->inputs,
                  "Run directories, or folders searched for them (any folder holding a config.yaml)")
      ->required()
      ->type_name("RUNS_DIR...");
  app->add_option("--out", args->out, "Folder for report.md, the CSV files and the plots (default: report)")
      ->type_name("DIR");
  app->add_option("--target-acc", args->target_acc,
                  "Also report the first epoch at which the mean eval top-1 curve reaches X percent")
      ->check(within<double>(0.0, 100.0))
      ->type_name("X");
  app->add_option("--ignore", args->ignore,
                  "A config key that does not tell configurations apart, on top of the seed, name, data.root, "
                  "train.threads and the other keys that do not change the math (repeatable)")
      ->type_name("KEY")
      ->take_all()
      ->allow_extra_args(false);
  app->add_option("--baseline", args->baseline, "The activation differences are taken against (default: relu)")
      ->type_name("SPEC");
  app->add_option("--reference", args->reference,
                  "A paper's reported accuracies (model,dataset,activation,reported_top1,source; e.g. "
                  "configs/paper/reported.csv), set beside the matching configurations; the stated.csv beside it "
                  "(key,value,dataset) gives the paper's stated setting, and every config value that differs is "
                  "flagged")
      ->type_name("FILE");
  app->footer(
      "\nRuns whose configs differ only in the seed and in keys that do not change the math are replicates\n"
      "of one configuration; the table has one row per configuration and a column for each key that\n"
      "differs. 'final top-1' is the last epoch's eval top-1 (no selection on the test set), mean +- sample\n"
      "std over seeds; the difference to the baseline is paired by seed, with a 95% Student-t interval.\n"
      "Unfinished runs are listed apart and counted nowhere. A folder given to --out must be new, empty or\n"
      "a previous report; other files in it are never replaced. --reference adds the paper's numbers\n"
      "beside the matching configurations (report.md's 'Against the paper', reference.csv).\n"
      "\nExamples:\n"
      "  sugar report runs/\n"
      "  sugar report runs/paper --out reports/paper --target-acc 80\n"
      "  sugar report runs/paper --reference configs/paper/reported.csv\n");
  return {app, [args] { return run_report(*args); }};
}

}  // namespace sugar::cli
