// Matching a report's groups to a paper's reported accuracies and flagging where their settings differ
// from the paper's stated ones (report/reference.hpp).
#include "sugar/report/reference.hpp"

#include <algorithm>

namespace sugar::report {
namespace {

// The value of `key` over the runs of a group: one value when they agree, "a / b" when they differ
// (runs merged with `report --ignore KEY`).
std::string value_in_group(const Group& group, const std::vector<RunData>& runs, const std::string& key) {
  std::vector<std::string> values;
  for (size_t r : group.runs) {
    const std::string value = key_value(runs[r].config, key);
    if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
  }
  std::string text;
  for (const std::string& value : values) text += (text.empty() ? "" : " / ") + value;
  return text;
}

ReferenceMatch compare(const Reference& reference, size_t row, const Report& report, size_t g,
                       const std::vector<RunData>& runs) {
  const Group& group = report.groups[g];
  ReferenceMatch match;
  match.reported = row;
  match.group = g;
  match.difference = group.final_top1_mean - reference.reported[row].top1;
  for (const StatedSetting& setting : reference.stated) {
    if (!setting.dataset.empty() && setting.dataset != group.dataset) continue;
    SettingComparison c{setting.key, setting.value, value_in_group(group, runs, setting.key)};
    if (setting.value.empty())
      match.not_stated.push_back(std::move(c));
    else if (c.used == setting.value)
      match.agrees.push_back(std::move(c));
    else
      match.differs.push_back(std::move(c));
  }
  return match;
}

}  // namespace

ReferenceComparison compare_to_reference(const Report& report, const std::vector<RunData>& runs,
                                         const Reference& reference) {
  ReferenceComparison comparison;
  for (size_t row = 0; row < reference.reported.size(); ++row) {
    const ReportedAccuracy& r = reference.reported[row];
    bool matched = false;
    for (size_t g = 0; g < report.groups.size(); ++g) {
      const Group& group = report.groups[g];
      if (group.model != r.model || group.dataset != r.dataset || group.activation != r.canonical_activation) continue;
      comparison.matches.push_back(compare(reference, row, report, g, runs));
      matched = true;
    }
    if (!matched) comparison.unmatched.push_back(row);
  }
  return comparison;
}

}  // namespace sugar::report
