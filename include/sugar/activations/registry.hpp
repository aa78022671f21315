#pragma once
// The activation table as a registry: the built-in rows (builtin.hpp) plus any row a program
// registers at run time. A registered row is a first-class citizen: specs, `sugar activations
// list/eval/plot`, and SUGAR surrogates all look names up here.
//
//   #include "sugar/activations/registry.hpp"
//   sugar::activations::ActivationRow row;
//   row.name = "squareplus";
//   row.params = {sugar::activations::ActivationParam::number("b", 4).greater_than(0)};
//   row.forward = [](float x, const float* p) { return 0.5f * (x + std::sqrt(x * x + p[0])); };
//   row.derivative = [](float x, const float* p) { return 0.5f * (1 + x / std::sqrt(x * x + p[0])); };
//   sugar::activations::register_activation(std::move(row));
//
// Registration is thread-safe; rows are never removed, so a spec may hold on to its row.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/activations/activation_row.hpp"

namespace sugar::activations {

// Adds a row to the table. Throws sugar::Error (usage) when the name or an alias is taken, is not
// an identifier, or the row is inconsistent (an elementwise row without f or f', a default outside
// its range, more than kMaxActivationParams parameters, ...). Returns the stored row.
std::shared_ptr<const ActivationRow> register_activation(ActivationRow row);

// The row called `name` (or having it as an alias); null when there is none.
std::shared_ptr<const ActivationRow> find_activation(std::string_view name);

// Every row, built-ins first, then registered ones in registration order.
std::vector<std::shared_ptr<const ActivationRow>> activation_rows();

// Every name and alias.
std::vector<std::string> activation_names();

// Up to `count` names (and aliases) closest to `name` by edit distance, closest first, among the
// rows that `eligible` accepts (all rows when it is empty).
std::vector<std::string> nearest_activation_names(
    std::string_view name, size_t count = 3,
    const std::function<bool(const ActivationRow&)>& eligible = {});

}  // namespace sugar::activations
