#pragma once
// Plugging the learnable activations into Sugar: their rows in the activation table (rows.hpp; so that
// specs such as `prelu(init=0.2)` parse and `sugar activations list/eval/plot` know them) and their
// module factories (so that nn::make_activation builds a module with real parameters at every site,
// modules.hpp).
#include <string>
#include <utility>
#include <vector>

#include "sugar/activations/learnable/rows.hpp"
#include "sugar/nn/activation.hpp"

namespace sugar::activations::learnable {

// (row name, factory building the module for a site with C channels) for each of the five rows.
std::vector<std::pair<std::string, nn::ActivationModuleFactory>> learnable_module_factories();

// Registers the rows (those the table does not have yet) with activations::register_activation and
// the factories (those not registered yet) with nn::register_activation_module. Idempotent and
// thread-safe; call it before parsing specs that name these activations (the static library drops a
// file that nothing references, so registration cannot rely on a static initialiser).
void register_learnable_activations();

}  // namespace sugar::activations::learnable
