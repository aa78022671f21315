#include "sugar/nn/module.hpp"

#include "sugar/error.hpp"

namespace sugar::nn {

void Module::reset_parameters(uint64_t) {}

void Module::reset_after_children(uint64_t) {}

std::vector<Tensor> Module::decayed_weights() const { return {}; }

void Module::count_flops(DirectFlops&) const {}

void Module::check_new_name(const std::string& name, const char* what) const {
  SUGAR_CHECK(!name.empty(), type_name(), ": cannot register a ", what, " with an empty name");
  SUGAR_CHECK(name.find('.') == std::string::npos, type_name(), ": ", what, " name '", name,
              "' must not contain '.' (dots separate module paths)");
  auto taken = [&](const auto& entries) {
    for (const auto& entry : entries)
      if (entry.first == name) return true;
    return false;
  };
  SUGAR_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(counters_) && !taken(children_), type_name(),
              ": cannot register ", what, " '", name, "': the name is already taken in this module");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_new_name(name, "parameter");
  SUGAR_CHECK(value.defined(), type_name(), ": parameter '", name, "' is an undefined tensor");
  SUGAR_CHECK(value.is_leaf(), type_name(), ": parameter '", name, "' must be a leaf tensor");
  SUGAR_CHECK(value.dtype() == DType::f32 && value.is_plain(), type_name(), ": parameter '", name,
              "' must be plain f32, got ", describe(value.desc()));
  value.set_requires_grad(true);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name, "buffer");
  SUGAR_CHECK(value.defined(), type_name(), ": buffer '", name, "' is an undefined tensor");
  SUGAR_CHECK(value.dtype() == DType::f32 && value.is_plain(), type_name(), ": buffer '", name,
              "' must be plain f32, got ", describe(value.desc()));
  buffers_.emplace_back(name, value);
  return value;
}

void Module::register_counter(const std::string& name, int64_t* counter) {
  check_new_name(name, "counter");
  SUGAR_CHECK(counter != nullptr, type_name(), ": counter '", name, "' is a null pointer");
  counters_.emplace_back(name, counter);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "module");
  SUGAR_CHECK(module != nullptr, type_name(), ": child module '", name, "' is null");
  SUGAR_CHECK(module.get() != this, type_name(), ": a module cannot be its own child ('", name, "')");
  children_.emplace_back(name, std::move(module));
}

// PyTorch's order: named_modules() is pre-order and each module lists its own entries first.
void Module::collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers,
                     NamedCounters* counters) const {
  if (params)
    for (const auto& [name, t] : parameters_) params->emplace_back(prefix + name, t);
  if (buffers)
    for (const auto& [name, t] : buffers_) buffers->emplace_back(prefix + name, t);
  if (counters)
    for (const auto& [name, c] : counters_) counters->emplace_back(prefix + name, c);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, counters);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", &out, nullptr, nullptr);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", nullptr, &out, nullptr);
  return out;
}

NamedCounters Module::named_counters() const {
  NamedCounters out;
  collect("", nullptr, nullptr, &out);
  return out;
}

NamedModules Module::named_children() const {
  NamedModules out;
  for (const auto& [name, child] : children_) out.emplace_back(name, child.get());
  return out;
}

NamedModules Module::named_modules() {
  NamedModules out{{"", this}};
  for (const auto& [name, child] : children_)
    for (auto& [sub, module] : child->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, module);
  return out;
}

void Module::train(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->train(training);
}

std::string Module::display_name() const { return path_.empty() ? type_name() : path_ + " (" + type_name() + ")"; }

void Module::assign_names_under(const std::string& path) {
  path_ = path;
  const std::string prefix = path.empty() ? "" : path + ".";
  for (auto& [name, t] : parameters_) t.set_name(prefix + name);
  for (auto& [name, t] : buffers_) t.set_name(prefix + name);
  for (auto& [name, child] : children_) child->assign_names_under(prefix + name);
}

void assign_names(Module& root) { root.assign_names_under(""); }

void initialize(Module& root, uint64_t seed) {
  assign_names(root);
  NamedModules modules = root.named_modules();
  for (auto& [path, module] : modules) {
    module->reset_parameters(seed);
    module->initialized_ = true;
  }
  // Reversed pre-order: every module after all of its descendants.
  for (auto it = modules.rbegin(); it != modules.rend(); ++it) it->second->reset_after_children(seed);
}

int64_t count_parameters(const Module& module) {
  int64_t total = 0;
  for (const auto& [name, t] : module.named_parameters()) total += t.numel();
  return total;
}

}  // namespace sugar::nn
