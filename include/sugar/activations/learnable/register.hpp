#pragma once
// The learnable activations' module factories, which nn's factory table starts with (so that
// nn::make_activation builds a module with real parameters at every site, modules.hpp). Their rows are
// in the activation table from the start too (rows.hpp, added by activations/registry.cpp), so specs
// such as `prelu(init=0.2)` parse without any registration call.
#include <string>
#include <utility>
#include <vector>

#include "sugar/activations/learnable/rows.hpp"
#include "sugar/nn/activation.hpp"

namespace sugar::activations::learnable {

// (row name, factory building the module for a site with C channels) for each of the five rows.
std::vector<std::pair<std::string, nn::ActivationModuleFactory>> learnable_module_factories();

}  // namespace sugar::activations::learnable
