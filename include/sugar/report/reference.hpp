#pragma once
// `sugar report --reference FILE`: a paper's reported accuracies set beside the report's groups, and
// every config value of a matching group that differs from the setting the paper states.
//
// Two tables, both CSV (configs/paper/ holds the paper's):
//
//   FILE (reported.csv)   model,dataset,activation,reported_top1,source
//                         one reported test top-1 (percent) per model, dataset and activation
//   stated.csv beside it  key,value,dataset
//                         what the paper states about its training: a config key, its value (empty: the
//                         paper leaves the key open), the dataset it applies to (empty: every dataset)
//
// FILE is the user's input, read as hostilely as a config: a size-limited regular file; every problem
// is one sugar::Error (usage) "<file>:<line>: <what was wrong and what was expected>". A missing
// stated.csv is not an error: then nothing is flagged, and the report says so.
//
// Matching. A group matches a row when its model.name, data.name and model.activation equal the row's
// model, dataset and activation, the activations compared in canonical form (ActivationSpec::to_string
// fills in every default, so "sugar(surrogate=bsilu)" matches "sugar(surrogate=bsilu, alpha=1.67)"
// while B-SiLU's default alpha is 1.67). Several groups may match one row (a grid over the learning
// rate, say); each is compared on its own.
//
// Flagging. Values are compared as the config layer's canonical text (ConfigField::write, through
// key_value), so "1e-3" and "0.001" agree. A stated key with a value is "differs" when some run of the
// group used another value, "agrees" otherwise; a key the paper leaves open is "not stated" and never
// flagged, but its values are listed so that the choice a reproduction made is in view.
#include <cstddef>
#include <string>
#include <vector>

#include "sugar/report/aggregate.hpp"

namespace sugar::report {

inline constexpr const char* kStatedFile = "stated.csv";

// One row of the reported table.
struct ReportedAccuracy {
  std::string model, dataset;
  std::string activation;            // as written in the file
  std::string canonical_activation;  // ActivationSpec::parse(activation).to_string()
  double top1 = 0;                   // percent, in [0, 100]
  std::string source;
  size_t line = 0;
};

// One row of the stated table.
struct StatedSetting {
  std::string key;      // a config key path that changes the math
  std::string value;    // canonical text (key_value); empty: not stated
  std::string dataset;  // empty: every dataset
  size_t line = 0;
};

struct Reference {
  std::string path;  // the reported table
  std::vector<ReportedAccuracy> reported;
  std::string stated_path;  // empty when there is no stated.csv beside `path`
  std::vector<StatedSetting> stated;
};

// Reads FILE and the stated.csv beside it (when anything is there by that name).
Reference read_reference(const std::string& path);

// The tables from their text; `path` names the file in errors.
std::vector<ReportedAccuracy> parse_reported(const std::string& text, const std::string& path);
std::vector<StatedSetting> parse_stated(const std::string& text, const std::string& path);

// A stated key as a group's runs have it.
struct SettingComparison {
  std::string key;
  std::string stated;  // empty for a key the paper leaves open
  std::string used;    // the runs' value; "a / b" when the runs of the group differ (report --ignore)
};

struct ReferenceMatch {
  size_t reported = 0;     // index into Reference::reported
  size_t group = 0;        // index into Report::groups
  double difference = 0;   // the group's mean final top-1 minus the reported top-1, percentage points
  std::vector<SettingComparison> differs, agrees, not_stated;  // each in stated.csv's order
};

struct ReferenceComparison {
  std::vector<ReferenceMatch> matches;  // by row of the reported table, then by group
  std::vector<size_t> unmatched;        // rows of the reported table that no group matches
};

ReferenceComparison compare_to_reference(const Report& report, const std::vector<RunData>& runs,
                                         const Reference& reference);

}  // namespace sugar::report
