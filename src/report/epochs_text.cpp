// The "Over the epochs" section of report.md and epochs.csv: per epoch and group, the test top-1 and the
// train/test gap with their spread over seeds, and the largest fall of one seed's test top-1.
#include <algorithm>
#include <set>

#include "sugar/report/report_text.hpp"
#include "text_table.hpp"

namespace sugar::report {
namespace {

using namespace text;

// A long run's table shows at most this many epochs (evenly spaced, the last always); epochs.csv has all.
constexpr size_t kMaxTableEpochs = 25;

std::vector<int64_t> family_epochs(const Report& report, const Family& family, Curve Group::*curve) {
  std::set<int64_t> epochs;
  for (size_t g : family.groups)
    for (int64_t e : (report.groups[g].*curve).epochs) epochs.insert(e);
  return {epochs.begin(), epochs.end()};
}

// Every `step`-th epoch and the last, so that a table stays at most kMaxTableEpochs rows long.
std::vector<int64_t> shown_epochs(const std::vector<int64_t>& epochs, size_t* step) {
  *step = (epochs.size() + kMaxTableEpochs - 2) / (kMaxTableEpochs - 1);
  if (*step <= 1) {
    *step = 1;
    return epochs;
  }
  std::vector<int64_t> shown;
  for (size_t i = 0; i < epochs.size(); ++i)
    if (i % *step == 0 || i + 1 == epochs.size()) shown.push_back(epochs[i]);
  return shown;
}

// "84.10 ± 1.20 [82.90, 85.30]" over several seeds, "84.10" for one; a dash where the curve has no point.
std::string spread_cell(const Curve& curve, int64_t epoch) {
  const auto it = std::find(curve.epochs.begin(), curve.epochs.end(), epoch);
  if (it == curve.epochs.end()) return kDash;
  const size_t i = static_cast<size_t>(it - curve.epochs.begin());
  if (curve.n[i] < 2) return fixed(curve.mean[i]);
  return mean_std(curve.mean[i], curve.std[i]) + " [" + fixed(curve.min[i]) + ", " + fixed(curve.max[i]) + "]";
}

std::string seeds_header(const Group& group) {
  const size_t n = group.runs.size();
  return group.activation + " (" + std::to_string(n) + (n == 1 ? " seed)" : " seeds)");
}

// One row per epoch, one column per group of the family; empty when no group has the curve.
std::string epoch_table(const Report& report, const Family& family, Curve Group::*curve) {
  const std::vector<int64_t> epochs = family_epochs(report, family, curve);
  if (epochs.empty()) return "";
  size_t step = 1;
  Table table;
  table.headers.push_back("epoch");
  for (size_t g : family.groups) table.headers.push_back(seeds_header(report.groups[g]));
  for (int64_t epoch : shown_epochs(epochs, &step)) {
    std::vector<std::string> row{std::to_string(epoch)};
    for (size_t g : family.groups) row.push_back(spread_cell(report.groups[g].*curve, epoch));
    table.rows.push_back(std::move(row));
  }
  std::string md = markdown(table);
  if (step > 1) md += "\nOne row every " + std::to_string(step) + " epochs and the last; epochs.csv has them all.\n";
  return md + "\n";
}

std::string drop_line(const Group& group) {
  std::string line = "- " + group.activation + ": ";
  if (!group.largest_drop) return line + "no seed's test top-1 fell from one evaluation to the next.\n";
  const EpochDrop& d = *group.largest_drop;
  return line + signed_fixed(d.change) + " pp (seed " + std::to_string(d.seed) + ", epoch " +
         std::to_string(d.from_epoch) + " \u2192 " + std::to_string(d.to_epoch) + ").\n";
}

}  // namespace

std::string epochs_markdown(const Report& report) {
  if (report.groups.empty()) return "";
  std::string md = "## Over the epochs\n\n";
  md += "Per epoch, mean \u00b1 sample std over seeds and, in brackets, the lowest and the highest seed (one "
        "seed: its value). All numbers, every epoch: epochs.csv.\n\n";
  for (const Family& family : report.families) {
    md += "### " + family.label + "\n\n";
    md += "Test top-1 % (`eval_top1`):\n\n" + epoch_table(report, family, &Group::eval_top1);
    const std::string gap = epoch_table(report, family, &Group::top1_gap);
    if (!gap.empty()) {
      md += "Train \u2212 test top-1, percentage points (`train_top1 - eval_top1`; `train_top1` is measured on the "
            "training batches while the model trains during the epoch: it lags the evaluated model, most in early "
            "epochs, where the gap reads low):\n\n" +
            gap;
    }
    md += "Largest fall of one seed's test top-1 between two evaluations:\n\n";
    for (size_t g : family.groups) md += drop_line(report.groups[g]);
    md += "\n";
  }
  return md;
}

std::string format_epochs_csv(const Report& report) {
  static constexpr std::pair<const char*, Curve Group::*> kCurves[] = {{"eval_top1", &Group::eval_top1},
                                                                        {"train_top1", &Group::train_top1},
                                                                        {"top1_gap", &Group::top1_gap},
                                                                        {"train_loss", &Group::train_loss}};
  std::vector<std::string> headers = report.columns;
  headers.push_back("epoch");
  for (const auto& [name, curve] : kCurves)
    for (const std::string& column : curve_headers(name)) headers.push_back(column);
  std::string csv = csv_line(headers);
  for (const Group& g : report.groups) {
    std::set<int64_t> epochs;
    for (const auto& [name, curve] : kCurves) epochs.insert((g.*curve).epochs.begin(), (g.*curve).epochs.end());
    for (int64_t epoch : epochs) {
      std::vector<std::string> cells = g.values;
      cells.push_back(std::to_string(epoch));
      for (const auto& [name, curve] : kCurves) curve_cells(cells, g.*curve, epoch);
      csv += csv_line(cells);
    }
  }
  return csv;
}

}  // namespace sugar::report
