// The learnable activations' module factories, and their registration with the table and nn.
#include <memory>
#include <mutex>

#include "sugar/activations/learnable/modules.hpp"
#include "sugar/activations/learnable/register.hpp"
#include "sugar/activations/registry.hpp"

namespace sugar::activations::learnable {

namespace {

template <class M>
nn::ActivationModuleFactory factory_of() {
  return [](const ActivationSpec& spec, int64_t channels) -> std::shared_ptr<nn::ActivationModule> {
    return std::make_shared<M>(spec, channels);
  };
}

}  // namespace

std::vector<std::pair<std::string, nn::ActivationModuleFactory>> learnable_module_factories() {
  return {{"prelu", factory_of<PReLU>()},
          {"acon_c", factory_of<AconC>()},
          {"meta_acon_c", factory_of<MetaAconC>()},
          {"frelu", factory_of<FReLU>()},
          {"maxout", factory_of<Maxout>()}};
}

void register_learnable_activations() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (ActivationRow& row : learnable_activation_rows())
      if (!find_activation(row.name)) register_activation(std::move(row));
    for (auto& [name, factory] : learnable_module_factories())
      if (!nn::find_activation_module(name)) nn::register_activation_module(name, std::move(factory));
  });
}

}  // namespace sugar::activations::learnable
