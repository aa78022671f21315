#pragma once
// The table of config keys behind config_yaml.hpp. One row per leaf key: its dotted path, how to read
// it from a YAML node (with type and range checks) and how to write it back. Reading, writing,
// overrides, sweeps, equality and diff_keys all walk this one table, so a key added here is known to
// all of them at once.
//
// Implementation header of the config module: programs use config_yaml.hpp.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/config/config_yaml.hpp"

namespace sugar::config {

// A value and where it came from. `where` is what messages start with: "file:line:column" for a
// value in a file, "--set key=value" for an override. `file` is empty for an override (its items
// have no line of their own). `label` replaces the key path in messages when set: a sweep item is
// read by its key's field but reported as "sweep.seed[2]".
struct ValueSource {
  YAML::Node node;
  std::string where;
  std::string file;
  std::string label;
};

// The place of an item of a sequence value: its own line and column in a file, the override itself
// for an override.
std::string item_where(const ValueSource& list, const YAML::Node& item);

// "file:line:column" (1-based, as editors count).
std::string location(const std::string& file, const YAML::Mark& mark);

// Throws sugar::Error (usage): "<where>: <path>: <what>".
[[noreturn]] void config_error(const std::string& where, const std::string& path, const std::string& what);

// What a key takes. `sugar train --list-keys` and the tests that feed every key absurd values walk the
// table by kind.
enum class FieldKind { integer, number, integer_list, number_list, text, choice, flag };
const char* kind_name(FieldKind kind);  // "integer", "number", "integer list", ...

// The allowed interval of a numeric key, or of each item of a list key. Every numeric key has a
// finite upper bound (config_schema.cpp says why each is what it is). `low`/`high` are the bounds as
// doubles (exact for every bound but the seed's 2^64 - 1); `text` is how messages and --list-keys
// print the interval: "in [1, 1024]", "in (0, 1)".
struct FieldRange {
  std::optional<double> low, high;
  bool low_open = false, high_open = false;
  std::string text;
  bool contains(double value) const;
};

struct ConfigField {
  std::string path;
  FieldKind kind = FieldKind::text;
  FieldRange range;       // integer, number, and the items of the list kinds; unbounded for the others
  size_t max_length = 0;  // text: the most bytes; lists: the most items; 0: no limit of its own
  // choice: the names allowed (for an open vocabulary, those registered when it is called: the models).
  std::function<std::vector<std::string>()> choices;
  // Reads the value into `config`, or throws config_error naming source.where and path.
  std::function<void(ExperimentConfig& config, const ValueSource& source)> read;
  // The value as YAML text: a plain or double-quoted scalar, or a flow sequence. Canonical: two
  // configs have the same text for a key exactly when their values are equal.
  std::function<std::string(const ExperimentConfig& config)> write;
  // Whether the key changes what a run computes. False for where it is stored, how fast it runs or how
  // often it reports (non_math_keys() lists these keys, in this table's order, and "sweep").
  bool changes_math = true;
};

// Every leaf key, in the order config files are written.
const std::vector<ConfigField>& config_fields();

// What a key allows, in words: "a whole number in [1, 1024]", "one of sgd, adam, adamw", ...
std::string allowed_values(const ConfigField& field);

// The field called `path`; null when there is none.
const ConfigField* find_field(std::string_view path);

// The sections ("", "model", "data", "data.augment", ...) and the names allowed directly inside one
// (keys and sub-sections, in file order; "" is the top level and includes "sweep").
bool is_section(std::string_view path);
std::vector<std::string> section_children(std::string_view section);

// What does not fit images of `shape` (crop padding, cutout, mean/std count): the key and what is
// wrong, the images called "the HxW images" followed by `images_suffix` (" of cifar10"). Null when
// everything fits.
struct KeyProblem {
  std::string key;
  std::string what;
};
std::optional<KeyProblem> image_shape_problem(const ExperimentConfig& config, const data::ImageShape& shape,
                                             const std::string& images_suffix = "");

}  // namespace sugar::config
