#include "sugar/nn/activation.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/nn/learnable_activations.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/error.hpp"

namespace sugar::nn {

namespace {

activations::ActivationSpec checked_spec(activations::ActivationSpec spec) {
  if (!spec.defined()) usage_error("Activation: the activation spec is undefined (no row)");
  return spec;
}

// Module factories by canonical row name. Rows are never removed, and neither are factories.
struct FactoryTable {
  std::mutex mutex;
  std::map<std::string, ActivationModuleFactory, std::less<>> factories;
};

// Pre-filled with the library's learnable activations. libsugar is a static library, so a
// registration that ran by itself at start-up would be dropped by the linker; naming them here keeps
// them in every program that builds models.
FactoryTable& factory_table() {
  static FactoryTable* table = [] {
    auto* t = new FactoryTable;
    for (auto& [name, factory] : learnable_activation_factories())
      t->factories.emplace(name, std::move(factory));
    return t;
  }();
  return *table;
}

}  // namespace

Tensor ActivationObserver::observe_relu_output(const ActivationModule& site, const Tensor&) {
  throw Error("activation observer of " + site.display_name() +
              ": asked to watch a fused ReLU's output, but it does not (watches_fused_relu is false)");
}

Activation::Activation(activations::ActivationSpec spec) : spec_(checked_spec(std::move(spec))) {}

Activation::Activation(std::string_view spec_text) : Activation(activations::ActivationSpec::parse(spec_text)) {}

void Activation::reset_parameters(uint64_t seed) { reset_calls(seed); }

Tensor Activation::activate(const Tensor& x) {
  const bool random_draws = is_training() && spec_.row().kind == activations::ActivationKind::random;
  if (!random_draws) return activations::apply_activation(spec_, x, is_training());
  SUGAR_CHECK(is_initialized(), display_name(), ": ", spec_.name(),
              " draws random numbers in training but is not seeded; call sugar::nn::initialize(model, seed) once "
              "the model is built");
  const auto per_sample = static_cast<uint64_t>(x.numel() / std::max<int64_t>(x.dim(0), 1));
  activations::RandomSource random{next_stream("activation", path()),
                                   static_cast<uint64_t>(current_sample_offset()) * per_sample};
  return activations::apply_activation(spec_, x, true, random);
}

void register_activation_module(const std::string& row_name, ActivationModuleFactory factory) {
  const std::shared_ptr<const activations::ActivationRow> row = activations::find_activation(row_name);
  if (!row) usage_error("register_activation_module: there is no activation row called '" + row_name + "'");
  if (row->kind != activations::ActivationKind::module)
    usage_error("register_activation_module: '" + row->name + "' is of kind " + activations::kind_name(row->kind) +
                "; only rows of kind module are built by a module factory");
  if (!factory) usage_error("register_activation_module: the factory for '" + row->name + "' is empty");
  FactoryTable& table = factory_table();
  std::lock_guard lock(table.mutex);
  if (!table.factories.emplace(row->name, std::move(factory)).second)
    usage_error("register_activation_module: '" + row->name + "' already has a module factory");
}

ActivationModuleFactory find_activation_module(std::string_view row_name) {
  FactoryTable& table = factory_table();
  std::lock_guard lock(table.mutex);
  const auto found = table.factories.find(row_name);
  return found == table.factories.end() ? ActivationModuleFactory() : found->second;
}

std::shared_ptr<ActivationModule> make_activation(const activations::ActivationSpec& spec, int64_t channels) {
  if (!spec.defined()) usage_error("make_activation: the activation spec is undefined (no row)");
  if (channels <= 0)
    usage_error("make_activation: " + spec.name() + " needs a positive channel count, got " + std::to_string(channels));
  if (spec.row().kind == activations::ActivationKind::module) {
    if (ActivationModuleFactory factory = find_activation_module(spec.name())) {
      std::shared_ptr<ActivationModule> module = factory(spec, channels);
      SUGAR_CHECK(module != nullptr, "make_activation: the module factory of ", spec.name(), " returned null for ",
                  channels, " channels");
      return module;
    }
  }
  return std::make_shared<Activation>(spec);
}

std::vector<std::string> activation_sites(Module& root) {
  std::vector<std::string> sites;
  for (const auto& [path, module] : root.named_modules())
    if (dynamic_cast<const ActivationModule*>(module) != nullptr) sites.push_back(path);
  return sites;
}

}  // namespace sugar::nn
