// The learnable activations' module factories (register.hpp).
#include <memory>

#include "sugar/activations/learnable/modules.hpp"
#include "sugar/activations/learnable/register.hpp"

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

}  // namespace sugar::activations::learnable
