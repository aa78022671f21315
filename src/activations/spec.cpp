// Activation specs: text -> syntax tree (RawSpec) -> resolved against the table (ActivationSpec).
#include "sugar/activations/spec.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>

#include "sugar/activations/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::activations {

std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// ---- syntax -------------------------------------------------------------------------------------

namespace {

struct RawSpec;

struct RawValue {
  bool is_number = false;
  double number = 0;
  std::string text;              // as written, for messages
  std::shared_ptr<RawSpec> spec;  // a word, with or without arguments
};

struct RawArgument {
  std::string key;
  RawValue value;
};

struct RawSpec {
  std::string name;
  std::string text;  // as written
  bool has_arguments = false;
  std::vector<RawArgument> arguments;
};

class SpecParser {
 public:
  explicit SpecParser(std::string_view text) : text_(text) {}

  RawSpec parse_whole() {
    skip_space();
    if (at_end()) fail("is empty; expected an activation name such as relu or sugar(surrogate=bsilu)");
    RawSpec spec = parse_spec();
    skip_space();
    if (!at_end()) fail("has unexpected text '" + std::string(text_.substr(pos_)) + "' after the spec");
    return spec;
  }

 private:
  static constexpr int kMaxSpecNesting = 16;
  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;

  // A spec is quoted whole in messages, up to a length that still fits one readable line.
  [[noreturn]] void fail(const std::string& what) const {
    constexpr size_t kQuoted = 100;
    const std::string quoted = text_.size() <= kQuoted
                                   ? std::string(text_)
                                   : std::string(text_.substr(0, kQuoted)) + "...' (" + std::to_string(text_.size()) +
                                         " characters)";
    usage_error("activation spec '" + quoted + (text_.size() <= kQuoted ? "' " : " ") + what);
  }
  [[noreturn]] void fail_at(const std::string& what) const {
    fail(what + " at column " + std::to_string(pos_ + 1));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  static bool starts_identifier(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool inside_identifier(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string parse_identifier(const char* what) {
    skip_space();
    if (!starts_identifier(peek())) {
      if (at_end()) fail("ends early; expected " + std::string(what));
      fail_at("expected " + std::string(what) + " but found '" + std::string(1, peek()) + "'");
    }
    const size_t start = pos_;
    while (!at_end() && inside_identifier(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  RawSpec parse_spec() {
    // parse_spec and parse_value recurse once per nesting level, and so do resolution and destruction
    // of the tree: a limit keeps a hostile spec from overflowing the stack. Real specs nest 2 deep.
    if (++depth_ > kMaxSpecNesting)
      fail_at("nests deeper than " + std::to_string(kMaxSpecNesting) + " levels");
    RawSpec spec;
    skip_space();
    const size_t start = pos_;
    spec.name = parse_identifier("an activation name");
    skip_space();
    if (peek() == '(') {
      spec.has_arguments = true;
      ++pos_;
      skip_space();
      if (peek() == ')') {
        ++pos_;
      } else {
        while (true) {
          RawArgument argument;
          argument.key = parse_identifier("a parameter name");
          skip_space();
          if (peek() != '=') fail_at("expected '=' after parameter '" + argument.key + "'");
          ++pos_;
          argument.value = parse_value(argument.key);
          spec.arguments.push_back(std::move(argument));
          skip_space();
          if (peek() == ',') {
            ++pos_;
            continue;
          }
          if (peek() == ')') {
            ++pos_;
            break;
          }
          if (at_end()) fail("ends early; expected ',' or ')'");
          fail_at("expected ',' or ')' but found '" + std::string(1, peek()) + "'");
        }
      }
    }
    spec.text = std::string(text_.substr(start, pos_ - start));
    while (!spec.text.empty() && std::isspace(static_cast<unsigned char>(spec.text.back()))) spec.text.pop_back();
    --depth_;
    return spec;
  }

  RawValue parse_value(const std::string& key) {
    skip_space();
    RawValue value;
    const char c = peek();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      const size_t start = pos_;
      if (c == '-' || c == '+') ++pos_;
      while (!at_end() && (std::isdigit(static_cast<unsigned char>(peek())) || peek() == '.')) ++pos_;
      if (peek() == 'e' || peek() == 'E') {
        ++pos_;
        if (peek() == '-' || peek() == '+') ++pos_;
        while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
      }
      value.text = std::string(text_.substr(start, pos_ - start));
      std::string_view digits = value.text;
      if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
      const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value.number);
      if (result.ec != std::errc() || result.ptr != digits.data() + digits.size() || !std::isfinite(value.number))
        fail("has an invalid number '" + value.text + "' for parameter '" + key + "'");
      if (!at_end() && inside_identifier(peek())) fail_at("has an invalid number for parameter '" + key + "'");
      value.is_number = true;
      return value;
    }
    if (!starts_identifier(c)) {
      if (at_end()) fail("ends early; expected a value for parameter '" + key + "'");
      fail_at("expected a value (a number or a name) for parameter '" + key + "' but found '" + std::string(1, c) + "'");
    }
    value.spec = std::make_shared<RawSpec>(parse_spec());
    value.text = value.spec->text;
    return value;
  }
};

bool elementwise_only(const ActivationRow& row) { return row.kind == ActivationKind::elementwise; }

// "negative_slope=0.01 (number)"
std::string describe_params(const ActivationRow& row) {
  std::vector<std::string> parts;
  for (const ActivationParam& param : row.params) parts.push_back(param.with_default() + " (" + param.allowed_values() + ")");
  return text::join(parts, ", ");
}

}  // namespace

// ---- resolution ---------------------------------------------------------------------------------

class SpecResolver {
 public:
  // `owner` is "sugar surrogate" etc. for a nested spec (empty at top level); nested specs must name
  // elementwise rows.
  static ActivationSpec resolve(const RawSpec& raw, const std::string& owner) {
    const std::shared_ptr<const ActivationRow> row = lookup(raw.name, owner);
    const ActivationRow& r = *row;

    ActivationSpec spec;
    spec.row_ = row;
    spec.values_.assign(r.params.size(), 0.0);
    spec.nested_.assign(r.params.size(), ActivationSpec());
    std::vector<bool> given(r.params.size(), false);

    // The raw nested spec of each activation parameter: as written, else its default.
    std::vector<std::shared_ptr<RawSpec>> nested_raw(r.params.size());
    for (const RawArgument& argument : raw.arguments) {
      const int index = r.param_index(argument.key);
      if (index < 0) continue;
      if (given[index]) usage_error(r.name + ": parameter '" + argument.key + "' is given twice");
      given[index] = true;
      const ActivationParam& param = r.params[index];
      if (param.type == ParamType::activation) {
        if (argument.value.is_number) ill_typed(r, param, argument.value.text, "an activation name");
        nested_raw[index] = std::make_shared<RawSpec>(*argument.value.spec);
      } else {
        spec.values_[index] = convert(r, param, argument.value);
      }
    }
    for (size_t i = 0; i < r.params.size(); ++i) {
      const ActivationParam& param = r.params[i];
      if (given[i]) continue;
      if (param.type == ParamType::activation)
        nested_raw[i] = std::make_shared<RawSpec>(SpecParser(param.default_activation).parse_whole());
      else
        spec.values_[i] = param.default_value;
    }

    // Keys the row does not declare go, written flat, to the one nested activation that accepts them.
    for (const RawArgument& argument : raw.arguments) {
      if (r.param_index(argument.key) >= 0) continue;
      std::vector<size_t> takers;
      for (size_t i = 0; i < r.params.size(); ++i) {
        if (r.params[i].type != ParamType::activation || !r.params[i].accepts_flat_keys) continue;
        const auto nested_row = lookup(nested_raw[i]->name, nested_owner(r, r.params[i]));
        if (nested_row->param_index(argument.key) >= 0) takers.push_back(i);
      }
      if (takers.empty()) unknown_parameter(r, argument.key, nested_raw);
      if (takers.size() > 1) {
        std::vector<std::string> options;
        for (size_t i : takers)
          options.push_back(r.params[i].name + "=" + nested_raw[i]->name + "(" + argument.key + "=...)");
        usage_error(r.name + ": parameter '" + argument.key + "' is accepted by " +
                    text::join(nested_names(r, takers, nested_raw), " and ") + "; write it nested to say which: " +
                    text::join(options, " or "));
      }
      RawSpec& target = *nested_raw[takers[0]];
      for (const RawArgument& existing : target.arguments)
        if (existing.key == argument.key)
          usage_error(r.name + ": parameter '" + argument.key + "' is given twice (flat and inside " + target.text + ")");
      target.arguments.push_back(argument);
      target.has_arguments = true;
    }

    for (size_t i = 0; i < r.params.size(); ++i)
      if (r.params[i].type == ParamType::activation)
        spec.nested_[i] = resolve(*nested_raw[i], nested_owner(r, r.params[i]));

    for (size_t i = 0; i < r.params.size() && i < kMaxActivationParams; ++i)
      spec.kernel_params_.values[i] = static_cast<float>(spec.values_[i]);
    if (r.validate) r.validate(spec);
    return spec;
  }

 private:
  static std::string nested_owner(const ActivationRow& row, const ActivationParam& param) {
    return row.name + " " + param.name;
  }

  static std::shared_ptr<const ActivationRow> lookup(const std::string& name, const std::string& owner) {
    std::shared_ptr<const ActivationRow> row = find_activation(name);
    if (!row) {
      const auto nearest = nearest_activation_names(
          name, 3, owner.empty() ? std::function<bool(const ActivationRow&)>() : elementwise_only);
      usage_error((owner.empty() ? "" : owner + ": ") + "unknown activation '" + name + "'; did you mean " +
                  text::join(nearest, ", ") + "? ('sugar activations list' shows them all)");
    }
    if (!owner.empty() && row->kind != ActivationKind::elementwise) {
      std::vector<std::string> allowed;
      for (const auto& candidate : activation_rows())
        if (elementwise_only(*candidate)) allowed.push_back(candidate->name);
      usage_error(owner + ": '" + name + "' cannot be used here: it is a " + kind_name(row->kind) +
                  " activation, and only deterministic element-wise activations without learnable parameters "
                  "are allowed (" + text::join(allowed, ", ") + ")");
    }
    return row;
  }

  static std::vector<std::string> nested_names(const ActivationRow& row, const std::vector<size_t>& indices,
                                               const std::vector<std::shared_ptr<RawSpec>>& nested_raw) {
    std::vector<std::string> names;
    for (size_t i : indices) names.push_back(row.params[i].name + "=" + nested_raw[i]->name);
    return names;
  }

  static std::string accepted(const ActivationRow& row) {
    if (row.params.empty()) return row.name + " takes no parameters";
    return row.name + " accepts " + describe_params(row);
  }

  [[noreturn]] static void unknown_parameter(const ActivationRow& row, const std::string& key,
                                             const std::vector<std::shared_ptr<RawSpec>>& nested_raw) {
    std::string message = row.name + ": unknown parameter '" + key + "'";
    // A near miss among the row's own names is most likely a typo.
    std::string best;
    size_t best_distance = 3;
    for (const ActivationParam& param : row.params) {
      const size_t d = text::edit_distance(key, param.name);
      if (d < best_distance && d <= param.name.size() / 2) {
        best = param.name;
        best_distance = d;
      }
    }
    if (!best.empty()) message += " (did you mean " + best + "?)";
    message += "; " + accepted(row);
    std::vector<std::string> flat;
    for (size_t i = 0; i < row.params.size(); ++i) {
      if (row.params[i].type != ParamType::activation || !row.params[i].accepts_flat_keys) continue;
      const auto nested_row = find_activation(nested_raw[i]->name);
      if (!nested_row) continue;
      flat.push_back(row.params[i].name + "=" + nested_row->name + ": " +
                     (nested_row->params.empty() ? std::string("none") : describe_params(*nested_row)));
    }
    if (!flat.empty()) message += "; and, written flat, the parameters of " + text::join(flat, "; ");
    usage_error(message);
  }

  [[noreturn]] static void ill_typed(const ActivationRow& row, const ActivationParam& param, const std::string& text,
                                     const std::string& expected) {
    usage_error(row.name + ": parameter " + param.name + " expects " + expected + ", got '" + text + "'; " +
                accepted(row));
  }

  static double convert(const ActivationRow& row, const ActivationParam& param, const RawValue& value) {
    switch (param.type) {
      case ParamType::number:
      case ParamType::integer:
        if (!value.is_number)
          ill_typed(row, param, value.text, param.type == ParamType::integer ? "an integer" : "a number");
        if (!param.allows(value.number))
          usage_error(row.name + ": " + param.name + "=" + value.text + " is out of range (" + param.allowed_values() +
                      "); " + accepted(row));
        return value.number;
      case ParamType::choice:
        if (!value.is_number && !value.spec->has_arguments)
          for (size_t i = 0; i < param.choices.size(); ++i)
            if (param.choices[i] == value.spec->name) return static_cast<double>(i);
        ill_typed(row, param, value.text, param.allowed_values());
      case ParamType::activation:
        break;
    }
    ill_typed(row, param, value.text, "an activation name");
  }
};

// ---- ActivationSpec -----------------------------------------------------------------------------

ActivationSpec ActivationSpec::parse(std::string_view text) {
  return SpecResolver::resolve(SpecParser(text).parse_whole(), "");
}

const ActivationRow& ActivationSpec::row() const {
  if (!row_) throw Error("activation spec: use of an undefined spec (no activation named)", ErrorKind::usage);
  return *row_;
}

namespace {
const ActivationParam& param_of(const ActivationRow& row, std::string_view name, int& index) {
  index = row.param_index(name);
  if (index < 0) throw Error(row.name + ": has no parameter '" + std::string(name) + "'", ErrorKind::usage);
  return row.params[index];
}
}  // namespace

double ActivationSpec::number(std::string_view param) const {
  int index = 0;
  const ActivationParam& p = param_of(row(), param, index);
  SUGAR_CHECK(p.type == ParamType::number || p.type == ParamType::integer, name(), ": parameter ", p.name,
              " is not a number");
  return values_[index];
}

const std::string& ActivationSpec::choice(std::string_view param) const {
  int index = 0;
  const ActivationParam& p = param_of(row(), param, index);
  SUGAR_CHECK(p.type == ParamType::choice, name(), ": parameter ", p.name, " is not a choice");
  return p.choices.at(static_cast<size_t>(values_[index]));
}

const ActivationSpec& ActivationSpec::nested(std::string_view param) const {
  int index = 0;
  const ActivationParam& p = param_of(row(), param, index);
  SUGAR_CHECK(p.type == ParamType::activation, name(), ": parameter ", p.name, " is not an activation");
  return nested_[index];
}

std::string ActivationSpec::to_string() const {
  const ActivationRow& r = row();
  if (r.params.empty()) return r.name;
  std::string text = r.name + "(";
  for (size_t i = 0; i < r.params.size(); ++i) {
    const ActivationParam& param = r.params[i];
    if (i > 0) text += ", ";
    text += param.name + "=";
    switch (param.type) {
      case ParamType::number:
      case ParamType::integer:
        text += format_number(values_[i]);
        break;
      case ParamType::choice:
        text += param.choices.at(static_cast<size_t>(values_[i]));
        break;
      case ParamType::activation:
        text += nested_[i].to_string();
        break;
    }
  }
  return text + ")";
}

bool ActivationSpec::operator==(const ActivationSpec& other) const {
  if (row_ != other.row_) return false;
  return values_ == other.values_ && nested_ == other.nested_;
}

}  // namespace sugar::activations
