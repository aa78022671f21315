#include "sugar/activations/registry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "sugar/activations/builtin.hpp"
#include "sugar/activations/kernels.hpp"
#include "sugar/activations/learnable/rows.hpp"
#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::activations {

namespace {

struct Registry {
  std::shared_mutex mutex;
  std::vector<std::shared_ptr<const ActivationRow>> rows;
  std::unordered_map<std::string, std::shared_ptr<const ActivationRow>> by_name;  // names and aliases
};

[[noreturn]] void reject(const std::string& name, const std::string& why) {
  throw Error("register_activation: '" + name + "' " + why, ErrorKind::usage);
}

bool is_identifier(std::string_view text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

void check_params(const ActivationRow& row) {
  if (row.params.size() > kMaxActivationParams)
    reject(row.name, "has " + std::to_string(row.params.size()) + " parameters; at most " +
                         std::to_string(kMaxActivationParams) + " are supported");
  for (size_t i = 0; i < row.params.size(); ++i) {
    const ActivationParam& param = row.params[i];
    if (!is_identifier(param.name)) reject(row.name, "has a parameter named '" + param.name + "', not an identifier");
    for (size_t j = 0; j < i; ++j)
      if (row.params[j].name == param.name) reject(row.name, "declares parameter '" + param.name + "' twice");
    switch (param.type) {
      case ParamType::number:
      case ParamType::integer:
        if (!param.allows(param.default_value))
          reject(row.name, "parameter " + param.with_default() + " has a default outside its allowed values (" +
                               param.allowed_values() + ")");
        break;
      case ParamType::choice:
        if (param.choices.empty() || param.default_value < 0 ||
            static_cast<size_t>(param.default_value) >= param.choices.size())
          reject(row.name, "parameter '" + param.name + "' has no valid default choice");
        for (const std::string& word : param.choices)
          if (!is_identifier(word)) reject(row.name, "parameter '" + param.name + "' has a choice '" + word + "' that is not an identifier");
        break;
      case ParamType::activation:
        if (row.kind == ActivationKind::elementwise)
          reject(row.name, "is elementwise but parameter '" + param.name + "' is an activation");
        if (param.default_activation.empty()) reject(row.name, "parameter '" + param.name + "' has no default");
        break;
    }
  }
}

void check_row(ActivationRow& row) {
  if (!is_identifier(row.name)) reject(row.name, "is not a valid name (letters, digits and _, not starting with a digit)");
  for (const std::string& alias : row.aliases)
    if (!is_identifier(alias)) reject(row.name, "has an alias '" + alias + "' that is not a valid name");
  check_params(row);
  switch (row.kind) {
    case ActivationKind::elementwise:
      if (!row.forward || !row.derivative) reject(row.name, "is elementwise and needs both forward f and derivative f'");
      if (row.apply) reject(row.name, "is elementwise and must not set apply (use kind random, combinator or module)");
      if (!row.kernels.complete()) row.kernels = scalar_kernels(row.forward, row.derivative);
      break;
    case ActivationKind::random:
    case ActivationKind::combinator:
    case ActivationKind::module:
      if (!row.apply) reject(row.name, std::string("is of kind ") + kind_name(row.kind) + " and needs apply");
      break;
  }
}

void add_row(Registry& registry, ActivationRow row) {
  check_row(row);
  std::vector<std::string> names = row.aliases;
  names.insert(names.begin(), row.name);
  for (const std::string& name : names)
    if (registry.by_name.count(name)) reject(row.name, "cannot be registered: the name '" + name + "' is taken");
  auto stored = std::make_shared<const ActivationRow>(std::move(row));
  registry.rows.push_back(stored);
  for (const std::string& name : names) registry.by_name.emplace(name, stored);
}

Registry& registry() {
  // Built once, on first use (so registration from any static initialiser or main is safe), and never
  // destroyed (rows may be used by objects destroyed at exit).
  static Registry* instance = [] {
    auto* r = new Registry;
    for (ActivationRow& row : builtin_activation_rows()) add_row(*r, std::move(row));
    // The learnable rows live in their own files; listing them here (not in a static initialiser,
    // which the linker drops from a static library) makes them known to every program.
    for (ActivationRow& row : learnable::learnable_activation_rows()) add_row(*r, std::move(row));
    return r;
  }();
  return *instance;
}

}  // namespace

std::shared_ptr<const ActivationRow> register_activation(ActivationRow row) {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  const std::string name = row.name;
  add_row(r, std::move(row));
  return r.by_name.at(name);
}

std::shared_ptr<const ActivationRow> find_activation(std::string_view name) {
  Registry& r = registry();
  std::shared_lock lock(r.mutex);
  const auto it = r.by_name.find(std::string(name));
  return it == r.by_name.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const ActivationRow>> activation_rows() {
  Registry& r = registry();
  std::shared_lock lock(r.mutex);
  return r.rows;
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const auto& row : activation_rows()) {
    names.push_back(row->name);
    names.insert(names.end(), row->aliases.begin(), row->aliases.end());
  }
  return names;
}

std::vector<std::string> nearest_activation_names(std::string_view name, size_t count,
                                                  const std::function<bool(const ActivationRow&)>& eligible) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& row : activation_rows()) {
    if (eligible && !eligible(*row)) continue;
    scored.emplace_back(text::edit_distance(name, row->name), row->name);
    for (const std::string& alias : row->aliases) scored.emplace_back(text::edit_distance(name, alias), alias);
  }
  std::sort(scored.begin(), scored.end());  // by distance, then alphabetically
  std::vector<std::string> names;
  for (size_t i = 0; i < scored.size() && names.size() < count; ++i) names.push_back(scored[i].second);
  return names;
}

}  // namespace sugar::activations
