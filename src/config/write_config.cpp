// The resolved config as YAML, written from the key table so that no key can be forgotten.
#include <charconv>
#include <cmath>

#include "sugar/config/config_schema.hpp"
#include "sugar/config/yaml_values.hpp"

namespace sugar::config {
namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', begin)) {
    parts.push_back(path.substr(begin, dot - begin));
    begin = dot + 1;
  }
  parts.push_back(path.substr(begin));
  return parts;
}

// Sweep values are kept as written; numbers stay plain so that `seed: [0, 1]` reads as written.
std::string write_sweep_value(const std::string& text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool number = !text.empty() && error == std::errc() && end == text.data() + text.size() && std::isfinite(value);
  return number ? text : write_text(text);
}

}  // namespace

std::string to_yaml(const ExperimentConfig& config) {
  std::string out = "# Sugar experiment config, fully resolved: every key, defaults included.\n";
  std::vector<std::string> open_sections;
  for (const ConfigField& field : config_fields()) {
    std::vector<std::string> parts = split_path(field.path);
    const std::string key = parts.back();
    parts.pop_back();
    size_t common = 0;
    while (common < parts.size() && common < open_sections.size() && parts[common] == open_sections[common]) ++common;
    open_sections.resize(common);
    for (size_t depth = common; depth < parts.size(); ++depth) {
      out += std::string(2 * depth, ' ') + parts[depth] + ":\n";
      open_sections.push_back(parts[depth]);
    }
    out += std::string(2 * parts.size(), ' ') + key + ": " + field.write(config) + "\n";
  }
  if (config.sweep.empty()) {
    out += "sweep: {}\n";
  } else {
    out += "sweep:\n";
    for (const SweepAxis& axis : config.sweep) {
      std::vector<std::string> values;
      for (const std::string& value : axis.values) values.push_back(write_sweep_value(value));
      out += "  " + write_text(axis.key) + ": " + write_list(values) + "\n";
    }
  }
  return out;
}

}  // namespace sugar::config
