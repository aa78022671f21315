#pragma once
// Activation specs: the text a researcher writes in a config file or on the command line.
//
//   spec  := name | name "(" [ key "=" value { "," key "=" value } ] ")"
//   value := number | word | spec            (a word is an identifier: a choice or a row name)
//
// Examples: relu, leaky_relu(negative_slope=0.1), gelu(approximate=tanh),
// sugar(surrogate=nelu, alpha=0.1), sugar(surrogate=elu(alpha=0.5), region=negative).
//
// Parsing resolves the text against the activation table: names and aliases become the row, every
// parameter gets its value (the default where none is written), values are checked for type and
// range. A spec prints back canonically, with every default filled in and nested specs nested, so
// that a run's resolved config says exactly what ran: parse(to_string(s)) == s.
//
// Errors are sugar::Error of kind usage: an unknown name lists the nearest valid names; an unknown,
// ill-typed or out-of-range parameter lists the allowed parameters with their defaults.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/activations/activation_row.hpp"

namespace sugar::activations {

class ActivationSpec {
 public:
  ActivationSpec() = default;  // undefined: no row

  // Parses and resolves `text` (see above). Throws sugar::Error (usage).
  static ActivationSpec parse(std::string_view text);

  bool defined() const { return row_ != nullptr; }
  const ActivationRow& row() const;
  const std::shared_ptr<const ActivationRow>& row_ptr() const { return row_; }
  const std::string& name() const { return row().name; }  // the canonical name (never an alias)

  // Parameter values by name; throw sugar::Error when the row has no such parameter of that type.
  double number(std::string_view param) const;          // number or integer
  const std::string& choice(std::string_view param) const;
  const ActivationSpec& nested(std::string_view param) const;  // activation-valued parameter

  // The values handed to the row's scalar functions and kernels.
  const ParamValues& kernel_params() const { return kernel_params_; }

  // Canonical text, all defaults filled in: "leaky_relu(negative_slope=0.01)",
  // "sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all)". Numbers use the shortest text
  // that reads back to the same double.
  std::string to_string() const;

  bool operator==(const ActivationSpec& other) const;

 private:
  friend class SpecResolver;
  std::shared_ptr<const ActivationRow> row_;
  std::vector<double> values_;          // per parameter: number, integer or choice index
  std::vector<ActivationSpec> nested_;  // per parameter: the nested spec of an activation parameter
  ParamValues kernel_params_;
};

// The shortest decimal text that reads back to exactly `value` ("0.01", "1.67", "20", "1e-05").
std::string format_number(double value);

}  // namespace sugar::activations
