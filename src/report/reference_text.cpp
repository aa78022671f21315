#include "sugar/report/reference_text.hpp"

#include <cmath>

#include "sugar/printable.hpp"
#include "text_table.hpp"

namespace sugar::report {
namespace {

using namespace text;

// The report's columns other than the three a reported row names: what tells apart groups that match
// the same row (a grid over the learning rate, say).
std::vector<size_t> other_columns(const Report& report) {
  std::vector<size_t> columns;
  for (size_t c = 0; c < report.columns.size(); ++c) {
    const std::string& key = report.columns[c];
    if (key != "model.name" && key != "data.name" && key != "model.activation") columns.push_back(c);
  }
  return columns;
}

// "train.epochs 12 (paper 50), optim.lr 0.01 (paper 0.001)"; `none` when the list is empty.
std::string settings_text(const std::vector<SettingComparison>& settings, bool with_stated, const std::string& none) {
  std::string text;
  for (const SettingComparison& s : settings) {
    text += (text.empty() ? "" : ", ") + s.key + " " + s.used;
    if (with_stated) text += " (paper " + s.stated + ")";
  }
  return text.empty() ? none : text;
}

// The flags of a match: what differs, "none", or a dash when there is no stated table to compare with.
std::string differs_text(const Reference& reference, const ReferenceMatch& match) {
  return reference.stated_path.empty() ? kDash : settings_text(match.differs, true, "none");
}

Table match_table(const Report& report, const Reference& reference, const ReferenceComparison& comparison,
                  bool with_not_stated) {
  const std::vector<size_t> others = other_columns(report);
  Table table;
  table.headers = {"model", "dataset", "activation"};
  for (size_t c : others) table.headers.push_back(report.columns[c]);
  for (const char* header : {"paper top-1 %", "Sugar top-1 %", "seeds", "Sugar \u2212 paper (pp)",
                             "differs from the paper's stated setting"})
    table.headers.push_back(header);
  if (with_not_stated) table.headers.push_back("not stated by the paper (the runs' value)");
  for (const ReferenceMatch& match : comparison.matches) {
    const ReportedAccuracy& r = reference.reported[match.reported];
    const Group& g = report.groups[match.group];
    std::vector<std::string> row{r.model, r.dataset, printable(r.activation)};
    for (size_t c : others) row.push_back(g.values[c]);
    row.push_back(fixed(r.top1));
    row.push_back(mean_std(g.final_top1_mean, g.final_top1_std));
    row.push_back(std::to_string(g.runs.size()));
    row.push_back(signed_fixed(match.difference));
    row.push_back(differs_text(reference, match));
    if (with_not_stated) row.push_back(settings_text(match.not_stated, false, kDash));
    table.rows.push_back(std::move(row));
  }
  return table;
}

Table unmatched_table(const Reference& reference, const ReferenceComparison& comparison) {
  Table table;
  table.headers = {"line", "model", "dataset", "activation", "paper top-1 %", "source"};
  for (size_t row : comparison.unmatched) {
    const ReportedAccuracy& r = reference.reported[row];
    table.rows.push_back({std::to_string(r.line), r.model, r.dataset, printable(r.activation), fixed(r.top1),
                          printable(r.source)});
  }
  return table;
}

std::string stated_source(const Reference& reference) {
  return reference.stated_path.empty() ? "no " + std::string(kStatedFile) + " beside it, so no setting is compared"
                                       : "stated settings: " + reference.stated_path;
}

}  // namespace

std::string format_reference_terminal(const Report& report, const Reference& reference,
                                      const ReferenceComparison& comparison) {
  std::string text = "\nAgainst the paper (" + reference.path + "; " + stated_source(reference) + "):\n";
  if (comparison.matches.empty())
    text += "no configuration matches a row (model, dataset and activation)\n";
  else
    text += aligned(match_table(report, reference, comparison, false));
  if (!comparison.unmatched.empty()) {
    text += "\nRows of " + reference.path + " that no configuration matches:\n";
    text += aligned(unmatched_table(reference, comparison));
  }
  return text;
}

std::string format_reference_markdown(const Report& report, const Reference& reference,
                                      const ReferenceComparison& comparison) {
  std::string md = "## Against the paper\n\n";
  md += "The accuracies reported in `" + reference.path +
        "` beside this report's, for every configuration whose model, dataset and activation match a row "
        "(activations compared in canonical form, every default filled in); " +
        stated_source(reference) + ".\n\n";
  if (comparison.matches.empty()) {
    md += "No configuration matches a row.\n\n";
  } else {
    md += markdown(match_table(report, reference, comparison, true)) + "\n";
    md += "- **Sugar top-1**: the final top-1 of the Accuracy table (mean \u00b1 sample std over seeds); **Sugar "
          "\u2212 paper**: its mean minus the reported number, in percentage points.\n";
    md += "- **differs from the paper's stated setting**: the config values of the runs that are not what the "
          "paper states, with the paper's value in brackets, compared as the config writes them.\n";
    md += "- **not stated by the paper**: keys the paper leaves open, never flagged; the value is the choice these "
          "runs made.\n";
    if (!reference.stated.empty()) {
      std::string stated;
      for (const StatedSetting& s : reference.stated) {
        if (s.value.empty()) continue;
        stated += (stated.empty() ? "" : ", ") + ("`" + s.key + ": " + s.value + "`") +
                  (s.dataset.empty() ? "" : " (" + s.dataset + ")");
      }
      if (!stated.empty()) md += "- The paper's stated setting: " + stated + ".\n";
    }
    md += "\n";
  }
  if (!comparison.unmatched.empty())
    md += "Rows that no configuration matches:\n\n" + markdown(unmatched_table(reference, comparison)) + "\n";
  return md;
}

std::string format_reference_csv(const Report& report, const Reference& reference,
                                 const ReferenceComparison& comparison) {
  const std::vector<size_t> others = other_columns(report);
  std::vector<std::string> headers{"model", "dataset", "activation", "reported_top1", "source", "line"};
  for (size_t c : others) headers.push_back(report.columns[c]);
  for (const char* header : {"n_seeds", "seeds", "final_top1_mean", "final_top1_std", "difference", "differs",
                             "not_stated"})
    headers.push_back(header);
  std::string csv = csv_line(headers);
  const auto reported_cells = [&](size_t row) {
    const ReportedAccuracy& r = reference.reported[row];
    return std::vector<std::string>{r.model, r.dataset, r.activation, number(r.top1), r.source, std::to_string(r.line)};
  };
  const auto settings_cell = [](const std::vector<SettingComparison>& settings, bool with_stated) {
    std::string cell;
    for (const SettingComparison& s : settings)
      cell += (cell.empty() ? "" : "; ") + s.key + "=" + s.used + (with_stated ? " (stated " + s.stated + ")" : "");
    return cell;
  };
  for (const ReferenceMatch& match : comparison.matches) {
    const Group& g = report.groups[match.group];
    std::vector<std::string> cells = reported_cells(match.reported);
    for (size_t c : others) cells.push_back(g.values[c]);
    for (const std::string& cell :
         {std::to_string(g.runs.size()), space_separated(g.seeds), number(g.final_top1_mean), number(g.final_top1_std),
          number(match.difference), settings_cell(match.differs, true), settings_cell(match.not_stated, false)})
      cells.push_back(cell);
    csv += csv_line(cells);
  }
  for (size_t row : comparison.unmatched) {
    std::vector<std::string> cells = reported_cells(row);
    cells.resize(headers.size());
    csv += csv_line(cells);
  }
  return csv;
}

}  // namespace sugar::report
