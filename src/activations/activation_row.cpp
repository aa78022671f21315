#include "sugar/activations/activation_row.hpp"

#include <algorithm>
#include <cmath>

#include "sugar/activations/spec.hpp"

namespace sugar::activations {

const char* kind_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::elementwise:
      return "elementwise";
    case ActivationKind::random:
      return "random";
    case ActivationKind::combinator:
      return "combinator";
    case ActivationKind::module:
      return "module";
  }
  return "unknown";
}

ActivationParam ActivationParam::number(std::string name, double default_value, std::string doc) {
  ActivationParam param;
  param.name = std::move(name);
  param.type = ParamType::number;
  param.default_value = default_value;
  param.doc = std::move(doc);
  return param;
}

ActivationParam ActivationParam::integer(std::string name, int64_t default_value, std::string doc) {
  ActivationParam param = number(std::move(name), static_cast<double>(default_value), std::move(doc));
  param.type = ParamType::integer;
  return param;
}

ActivationParam ActivationParam::choice(std::string name, std::vector<std::string> choices, size_t default_index,
                                        std::string doc) {
  ActivationParam param;
  param.name = std::move(name);
  param.type = ParamType::choice;
  param.choices = std::move(choices);
  param.default_value = static_cast<double>(default_index);
  param.doc = std::move(doc);
  return param;
}

ActivationParam ActivationParam::activation(std::string name, std::string default_spec, bool accepts_flat_keys,
                                            std::string doc) {
  ActivationParam param;
  param.name = std::move(name);
  param.type = ParamType::activation;
  param.default_activation = std::move(default_spec);
  param.accepts_flat_keys = accepts_flat_keys;
  param.doc = std::move(doc);
  return param;
}

ActivationParam& ActivationParam::at_least(double bound) {
  min = bound;
  min_exclusive = false;
  return *this;
}
ActivationParam& ActivationParam::greater_than(double bound) {
  min = bound;
  min_exclusive = true;
  return *this;
}
ActivationParam& ActivationParam::at_most(double bound) {
  max = bound;
  max_exclusive = false;
  return *this;
}
ActivationParam& ActivationParam::less_than(double bound) {
  max = bound;
  max_exclusive = true;
  return *this;
}

std::string ActivationParam::with_default() const {
  switch (type) {
    case ParamType::number:
    case ParamType::integer:
      return name + "=" + format_number(default_value);
    case ParamType::choice: {
      const auto index = static_cast<size_t>(default_value);
      return name + "=" + (index < choices.size() ? choices[index] : std::string("?"));
    }
    case ParamType::activation:
      return name + "=" + default_activation;
  }
  return name;
}

std::string ActivationParam::allowed_values() const {
  if (type == ParamType::activation) return "activation";
  if (type == ParamType::choice) {
    std::string words;
    for (const std::string& word : choices) words += (words.empty() ? "" : "|") + word;
    return "one of " + words;
  }
  const std::string what = type == ParamType::integer ? "integer" : "number";
  // Every range is finite: an unbounded side stops at kMaxParamMagnitude.
  const bool low_open = min_exclusive && min > -kMaxParamMagnitude;
  const bool high_open = max_exclusive && max < kMaxParamMagnitude;
  return what + " in " + (low_open ? "(" : "[") + format_number(std::max(min, -kMaxParamMagnitude)) + ", " +
         format_number(std::min(max, kMaxParamMagnitude)) + (high_open ? ")" : "]");
}

bool ActivationParam::allows(double value) const {
  if (type != ParamType::number && type != ParamType::integer) return false;
  if (!std::isfinite(value) || std::fabs(value) > kMaxParamMagnitude) return false;
  if (type == ParamType::integer && value != std::floor(value)) return false;
  if (min_exclusive ? !(value > min) : !(value >= min)) return false;
  if (max_exclusive ? !(value < max) : !(value <= max)) return false;
  return true;
}

int ActivationRow::param_index(std::string_view param_name) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == param_name) return static_cast<int>(i);
  return -1;
}

}  // namespace sugar::activations
