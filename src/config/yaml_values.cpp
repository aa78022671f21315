#include "sugar/config/yaml_values.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::config {
namespace {

// A scalar's text, or a "got ..." error for anything else.
const std::string& scalar_text(const ValueSource& source, const std::string& path, const std::string& expected) {
  if (!source.node.IsScalar()) config_error(source.where, message_path(source, path), "expected " + expected + ", got " + describe(source.node));
  return source.node.Scalar();
}

[[noreturn]] void wrong_value(const ValueSource& source, const std::string& path, const std::string& expected) {
  config_error(source.where, message_path(source, path), "expected " + expected + ", got " + describe(source.node));
}

// from_chars does not take a leading '+', YAML does.
std::string_view without_plus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

double parse_floating(const ValueSource& source, const std::string& path, const std::string& expected) {
  const std::string_view text = without_plus(scalar_text(source, path, expected));
  double value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  // from_chars also takes "nan" and "inf", and 1e400 is out of range: all are "expected ...".
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    wrong_value(source, path, expected);
  return value;
}

template <class T>
T parse_whole(const ValueSource& source, const std::string& path, const std::string& expected) {
  const std::string_view text = without_plus(scalar_text(source, path, expected));
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) wrong_value(source, path, expected);
  return value;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_plain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || c == '/' || c == '+';
}

// Words that YAML 1.1 readers (PyYAML among them) turn into booleans or null.
bool is_special_word(const std::string& text) {
  static const std::array<const char*, 12> words{"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
                                                 "nan", "inf"};
  const std::string lower = lowercase(text);
  for (const char* word : words)
    if (lower == word) return true;
  return false;
}

}  // namespace

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "'" + node.Scalar() + "'";
}

const std::string& message_path(const ValueSource& source, const std::string& path) {
  return source.label.empty() ? path : source.label;
}

double read_number(const ValueSource& source, const std::string& path, const std::string& expected) {
  return parse_floating(source, path, expected);
}

int64_t read_integer(const ValueSource& source, const std::string& path, const std::string& expected) {
  return parse_whole<int64_t>(source, path, expected);
}

uint64_t read_unsigned(const ValueSource& source, const std::string& path, const std::string& expected) {
  return parse_whole<uint64_t>(source, path, expected);
}

namespace {
// 1 true, 0 false, -1 neither.
int boolean_word(const std::string& lower) {
  if (lower == "true" || lower == "yes" || lower == "on") return 1;
  if (lower == "false" || lower == "no" || lower == "off") return 0;
  return -1;
}
}  // namespace

bool read_bool(const ValueSource& source, const std::string& path) {
  const int value = boolean_word(lowercase(scalar_text(source, path, "true or false")));
  if (value < 0) wrong_value(source, path, "true or false");
  return value == 1;
}

std::string read_bool_or_auto(const ValueSource& source, const std::string& path) {
  const std::string lower = lowercase(scalar_text(source, path, "true, false or auto"));
  if (lower == "auto") return "auto";
  const int value = boolean_word(lower);
  if (value < 0) wrong_value(source, path, "true, false or auto");
  return value == 1 ? "true" : "false";
}

std::string read_text(const ValueSource& source, const std::string& path) {
  if (source.node.IsNull()) return "";
  return scalar_text(source, path, "a text value");
}

std::vector<ValueSource> read_list(const ValueSource& source, const std::string& path, const std::string& expected) {
  if (source.node.IsNull()) return {};
  if (!source.node.IsSequence()) wrong_value(source, path, expected);
  std::vector<ValueSource> items;
  const std::string& base = message_path(source, path);
  for (size_t i = 0; i < source.node.size(); ++i) {
    const YAML::Node item = source.node[i];
    items.push_back({item, item_where(source, item), source.file, base + "[" + std::to_string(i) + "]"});
  }
  return items;
}

namespace {
// YAML 1.1 readers (PyYAML) take "5e-04" for text: exponent forms get a ".0" ("5.0e-04").
std::string with_yaml11_mantissa(std::string text) {
  const size_t e = text.find('e');
  if (e != std::string::npos && text.find('.') == std::string::npos) text.insert(e, ".0");
  return text;
}
}  // namespace

std::string write_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return with_yaml11_mantissa(std::string(buffer, result.ptr));
}

std::string write_float(float value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return with_yaml11_mantissa(std::string(buffer, result.ptr));
}

std::string write_text(const std::string& text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), is_plain_char) &&
                     !(text[0] >= '0' && text[0] <= '9') && text[0] != '-' && text[0] != '+' && text[0] != '.' &&
                     !is_special_word(text);
  if (plain) return text;
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static const char* digits = "0123456789abcdef";
          out += "\\x";
          out += digits[(static_cast<unsigned char>(c) >> 4) & 15];
          out += digits[static_cast<unsigned char>(c) & 15];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string write_list(const std::vector<std::string>& items) {
  // Appending (rather than "[" + ...) also avoids a false -Wrestrict warning of GCC 12.
  std::string out = "[";
  out += text::join(items);
  out += "]";
  return out;
}

}  // namespace sugar::config
