#include "sugar/report/report_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "text_table.hpp"

namespace sugar::report {
namespace {

using namespace text;

bool any_val(const Report& report) {
  return std::any_of(report.groups.begin(), report.groups.end(), [](const Group& g) { return g.eval_split == "val"; });
}

std::string target_header(const Report& report) {
  char target[32];
  std::snprintf(target, sizeof target, "%g", *report.options.target_acc);
  return "epoch \u2265 " + std::string(target) + "%";
}

Table main_table(const Report& report) {
  Table table;
  table.headers = report.columns;
  const bool val = any_val(report);
  for (const char* header : {"split", "seeds", "final top-1 %"}) table.headers.push_back(header);
  if (val) table.headers.push_back("best val top-1 %");
  table.headers.push_back("\u0394 vs " + report.options.baseline_activation + " (pp)");
  table.headers.push_back(fixed(100 * report.options.confidence, 0) + "% CI (pairs)");
  if (report.options.target_acc) table.headers.push_back(target_header(report));
  for (const Group& g : report.groups) {
    std::vector<std::string> row = g.values;
    row.push_back(g.eval_split);
    row.push_back(std::to_string(g.runs.size()));
    row.push_back(mean_std(g.final_top1_mean, g.final_top1_std));
    if (val) row.push_back(g.eval_split == "val" ? mean_std(g.best_val_top1_mean, g.best_val_top1_std) : kDash);
    if (g.activation == report.options.baseline_activation) {
      row.push_back("baseline");
      row.push_back(kDash);
    } else if (g.difference.n == 0) {
      row.push_back(kDash);
      row.push_back(g.baseline ? "no common seed" : "no baseline run");
    } else {
      row.push_back(signed_fixed(g.difference.mean));
      const std::string pairs = " (" + std::to_string(g.difference.n) + ")";
      row.push_back(std::isnan(g.difference.ci_low)
                        ? kDash + pairs
                        : std::string(1, '[') + signed_fixed(g.difference.ci_low) + ", " +
                              signed_fixed(g.difference.ci_high) + "]" + pairs);
    }
    if (report.options.target_acc) row.push_back(g.target_epoch ? std::to_string(*g.target_epoch) : kDash);
    table.rows.push_back(std::move(row));
  }
  return table;
}

Table unfinished_table(const Report& report, const std::vector<RunData>& runs) {
  Table table;
  table.headers = {"run", "model.activation", "seed", "why"};
  for (size_t r : report.unfinished) {
    const RunData& run = runs[r];
    table.rows.push_back({run.dir, run.config.model.activation, std::to_string(run.config.seed), run.unfinished_reason});
  }
  return table;
}

}  // namespace

std::vector<std::string> family_plots(const Report& report, const Family& family) {
  std::vector<std::string> metrics{"eval_top1", "train_loss"};
  if (std::any_of(family.groups.begin(), family.groups.end(),
                  [&](size_t g) { return !report.groups[g].top1_gap.epochs.empty(); }))
    metrics.push_back("top1_gap");
  if (has_site_curves(report, family)) {
    metrics.push_back("dead_fraction");
    metrics.push_back("grad_reach");
  }
  return metrics;
}

std::string plot_file(const Family& family, const std::string& metric) {
  return metric + "_" + family.file_stem + ".png";
}

std::string format_terminal(const Report& report, const std::vector<RunData>& runs) {
  std::string text = aligned(main_table(report));
  if (!report.unfinished.empty()) {
    text += "\nUnfinished runs (not in the table):\n";
    text += aligned(unfinished_table(report, runs));
  }
  return text;
}

std::string format_markdown(const Report& report, const std::vector<RunData>& runs, const MarkdownOptions& options) {
  size_t finished = 0;
  for (const Group& g : report.groups) finished += g.runs.size();
  std::string inputs;
  for (const std::string& input : options.inputs) inputs += (inputs.empty() ? "" : ", ") + ("`" + input + "`");
  std::string ignored;
  for (const std::string& key : report.ignored_keys) ignored += (ignored.empty() ? "" : ", ") + key;

  std::string md = "# Sugar report\n\n";
  md += std::to_string(finished) + " finished runs in " + std::to_string(report.groups.size()) + " configurations";
  if (!inputs.empty()) md += ", from " + inputs;
  md += ".";
  if (!report.unfinished.empty())
    md += std::string(1, ' ') + std::to_string(report.unfinished.size()) +
          " unfinished runs are listed at the end and left out of every number.";
  md += "\n\nRuns are replicates of one configuration when their configs differ only in these keys: " + ignored +
        ". The columns before `split` are the keys that differ between configurations.\n\n";

  md += "## Accuracy\n\n" + markdown(main_table(report)) + "\n";
  md += "- **final top-1**: `eval_top1` of the last epoch, mean \u00b1 sample standard deviation (n\u22121) over seeds. "
        "Nothing is selected on the test set.\n";
  md += "- **split**: the set `eval_top1` was measured on. `val` means a validation split held out of the training "
        "set (`data.val_split`); the accuracy columns of such rows are validation accuracies, since the trainer "
        "evaluates only the validation set then.\n";
  if (any_val(report)) {
    md += "- **best val top-1**: the best validation top-1 over epochs (the epoch `best.safetensors` keeps). The test "
          "accuracy of that checkpoint is not in metrics.csv; measure it with `sugar eval --run RUN --checkpoint best`.\n";
  }
  md += "- **\u0394 vs " + report.options.baseline_activation +
        "**: the paired difference in final top-1 (percentage points) to the same configuration with "
        "`model.activation: " +
        report.options.baseline_activation + "`, seed by seed over the seeds finished in both; the interval is " +
        fixed(100 * report.options.confidence, 0) +
        "% Student-t (n\u22121 degrees of freedom) on the differences, and (n) the number of pairs.\n";
  if (report.options.target_acc) {
    md += "- **" + target_header(report) +
          "**: the first epoch at which the mean-over-seeds `eval_top1` curve reaches the target (" + kDash +
          ": never).\n";
  }

  md += "\n" + options.reference_section;
  md += "## Curves\n\n";
  if (!options.plots) {
    md += "No plots: " + options.no_plots_reason + "\n";
  } else {
    md += "Mean over seeds, the band spans the minimum and maximum run, and in the test top-1 plot a thin line "
          "follows each seed. `top1_gap` is train top-1 minus test top-1 (see Over the epochs).\n\n";
    for (const Family& family : report.families) {
      md += "### " + family.label + "\n\n";
      for (const std::string& metric : family_plots(report, family))
        if (metric == "eval_top1" || metric == "train_loss" || metric == "top1_gap")
          md += "![" + metric + ", " + family.label + "](" + plot_file(family, metric) + ")\n";
      md += "\n";
    }
  }

  md += epochs_markdown(report);
  md += neurons_markdown(report, options.plots);

  if (!report.unfinished.empty()) {
    md += "## Unfinished runs\n\nNot counted anywhere above.\n\n" + markdown(unfinished_table(report, runs));
  }
  return md;
}

std::string format_csv(const Report& report) {
  std::vector<std::string> headers = report.columns;
  for (const char* header :
       {"eval_split", "n_seeds", "seeds", "final_top1_mean", "final_top1_std", "best_val_top1_mean",
        "best_val_top1_std", "final_train_loss_mean", "final_train_loss_std", "baseline", "n_pairs", "diff_mean",
        "diff_std", "diff_ci_low", "diff_ci_high", "confidence", "target_acc", "target_epoch"})
    headers.push_back(header);
  std::string csv = csv_line(headers);
  for (const Group& g : report.groups) {
    std::vector<std::string> cells = g.values;
    const bool paired = g.difference.n > 0;
    for (const std::string& cell :
         {g.eval_split, std::to_string(g.runs.size()), space_separated(g.seeds), number(g.final_top1_mean),
          number(g.final_top1_std), number(g.best_val_top1_mean), number(g.best_val_top1_std),
          number(g.final_train_loss_mean), number(g.final_train_loss_std),
          g.baseline ? report.options.baseline_activation : std::string(),
          paired ? std::to_string(g.difference.n) : std::string(), paired ? number(g.difference.mean) : "",
          paired ? number(g.difference.std) : "", paired ? number(g.difference.ci_low) : "",
          paired ? number(g.difference.ci_high) : "", number(report.options.confidence),
          report.options.target_acc ? number(*report.options.target_acc) : "",
          g.target_epoch ? std::to_string(*g.target_epoch) : ""})
      cells.push_back(cell);
    csv += csv_line(cells);
  }
  return csv;
}

}  // namespace sugar::report
