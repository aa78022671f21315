#pragma once
// The comparison with a paper (report/reference.hpp) as text: the table `sugar report --reference`
// prints after the report's, the "Against the paper" section of report.md and reference.csv.
//
// One row per match of a group and a reported accuracy: the reported top-1, the group's final top-1
// (mean ± sample std over seeds, as in the main table), the number of seeds, the difference and the
// stated settings the group's runs did not use. report.md adds the values of the keys the paper leaves
// open; reference.csv has the same rows in full precision, plus the reported rows no group matches
// with empty cells for Sugar's side.
#include <string>

#include "sugar/report/reference.hpp"

namespace sugar::report {

inline constexpr const char* kReferenceCsvFile = "reference.csv";

std::string format_reference_terminal(const Report& report, const Reference& reference,
                                      const ReferenceComparison& comparison);
std::string format_reference_markdown(const Report& report, const Reference& reference,
                                      const ReferenceComparison& comparison);
std::string format_reference_csv(const Report& report, const Reference& reference,
                                 const ReferenceComparison& comparison);

}  // namespace sugar::report
