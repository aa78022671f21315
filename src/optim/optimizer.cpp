#include "sugar/optim/optimizer.hpp"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/profiler.hpp"

namespace sugar::optim {

void check_lr(const char* optimizer, double lr, bool allow_zero) {
  SUGAR_CHECK(std::isfinite(lr) && (allow_zero ? lr >= 0 : lr > 0), optimizer, ": learning rate must be ",
              allow_zero ? ">= 0" : "> 0", ", got ", lr);
}

void check_weight_decay(const char* optimizer, double weight_decay) {
  SUGAR_CHECK(std::isfinite(weight_decay) && weight_decay >= 0, optimizer, ": weight_decay must be >= 0, got ",
              weight_decay);
}

const NameTable<DecayScope>& names_of(DecayScope) {
  static const NameTable<DecayScope> table{{DecayScope::all, "all"}, {DecayScope::weights, "weights"}};
  return table;
}

const NameTable<OptimizerKind>& names_of(OptimizerKind) {
  static const NameTable<OptimizerKind> table{
      {OptimizerKind::sgd, "sgd"}, {OptimizerKind::adam, "adam"}, {OptimizerKind::adamw, "adamw"}};
  return table;
}

Optimizer::Optimizer(const char* type, std::vector<ParamGroup> groups, double default_lr,
                     double default_weight_decay, std::vector<std::string> state_names, bool has_step_counter)
    : state_names_(std::move(state_names)), has_step_counter_(has_step_counter), type_(type) {
  check_lr(type, default_lr, false);
  check_weight_decay(type, default_weight_decay);
  SUGAR_CHECK(!groups.empty(), type, ": needs at least one parameter group");
  std::unordered_set<const TensorImpl*> seen_params;
  std::unordered_set<std::string> seen_names;
  for (size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& spec = groups[g];
    SUGAR_CHECK(!spec.params.empty(), type, ": parameter group ", g, " is empty");
    Group group;
    group.lr = spec.lr.value_or(default_lr);
    group.weight_decay = spec.weight_decay.value_or(default_weight_decay);
    check_lr(type, group.lr, false);
    check_weight_decay(type, group.weight_decay);
    for (const Tensor& p : spec.params) {
      SUGAR_CHECK(p.defined(), type, ": parameter group ", g, " holds an undefined tensor");
      std::string name = p.name().empty() ? "param" + std::to_string(slots_.size()) : p.name();
      SUGAR_CHECK(p.is_leaf() && p.requires_grad(), type, ": '", name,
                  "' is not a leaf tensor that requires a gradient");
      SUGAR_CHECK(p.dtype() == DType::f32 && p.is_plain(), type, ": parameter '", name, "' must be plain f32, got ",
                  describe(p.desc()));
      SUGAR_CHECK(seen_params.insert(p.impl()).second, type, ": parameter '", name,
                  "' appears more than once (in one group or across groups)");
      SUGAR_CHECK(seen_names.insert(name).second, type, ": two parameters share the name '", name,
                  "', so their state could not be told apart in a checkpoint");
      group.slots.push_back(slots_.size());
      slots_.push_back(Slot{p, std::move(name), std::vector<Tensor>(state_names_.size()), 0});
    }
    group.params = std::move(spec.params);
    groups_.push_back(std::move(group));
  }
}

void Optimizer::zero_grad() {
  for (Slot& slot : slots_) slot.param.zero_grad();
}

void Optimizer::step() {
  profiler::Scope scope(profiler::OpKind::optimizer);
  autograd::NoGradGuard no_grad;
  for (const Group& group : groups_) {
    for (size_t index : group.slots) {
      Slot& slot = slots_[index];
      const Tensor grad = slot.param.grad();
      if (!grad.defined()) continue;
      update(slot, grad.to_desc(plain_desc(slot.param.shape(), DType::f32)), group);
      slot.param.bump_version();  // the parameter changed in place (see Tensor::bump_version)
    }
  }
}

const Optimizer::Group& Optimizer::checked_group(size_t group) const {
  SUGAR_CHECK(group < groups_.size(), type_, ": parameter group ", group, " out of range (", groups_.size(),
              " groups)");
  return groups_[group];
}

const std::vector<Tensor>& Optimizer::group_params(size_t group) const { return checked_group(group).params; }
double Optimizer::group_lr(size_t group) const { return checked_group(group).lr; }
double Optimizer::group_weight_decay(size_t group) const { return checked_group(group).weight_decay; }

void Optimizer::set_lr(double lr) {
  check_lr(type_.c_str(), lr, true);
  for (Group& g : groups_) g.lr = lr;
}

void Optimizer::set_group_lr(size_t group, double lr) {
  checked_group(group);
  check_lr(type_.c_str(), lr, true);
  groups_[group].lr = lr;
}

void Optimizer::set_momentum(double) {
  throw Error(type_ + ": has no momentum coefficient to set");
}

std::vector<std::pair<std::string, Tensor>> Optimizer::named_state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Slot& slot : slots_)
    for (size_t s = 0; s < state_names_.size(); ++s)
      if (slot.state[s].defined()) out.emplace_back(slot.name + "." + state_names_[s], slot.state[s]);
  return out;
}

std::vector<std::pair<std::string, int64_t>> Optimizer::named_counters() const {
  std::vector<std::pair<std::string, int64_t>> out;
  if (!has_step_counter_) return out;
  for (const Slot& slot : slots_) out.emplace_back(slot.name + ".step", slot.step);
  return out;
}

// `full_name` must be "<parameter name>.<suffix>"; returns the slot index.
size_t Optimizer::find_slot(const std::string& full_name, const std::string& suffix, size_t* state_index) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    const std::string& name = slots_[i].name;
    if (full_name.size() <= name.size() + 1 || full_name.compare(0, name.size(), name) != 0 ||
        full_name[name.size()] != '.')
      continue;
    const std::string rest = full_name.substr(name.size() + 1);
    if (!suffix.empty()) {
      if (rest == suffix) return i;
      continue;
    }
    for (size_t s = 0; s < state_names_.size(); ++s)
      if (rest == state_names_[s]) {
        *state_index = s;
        return i;
      }
  }
  throw Error(type_ + ": no optimizer state is called '" + full_name + "'");
}

void Optimizer::load_state(const std::string& name, const Tensor& value) {
  size_t s = 0;
  Slot& slot = slots_[find_slot(name, "", &s)];
  SUGAR_CHECK(value.defined() && value.shape() == slot.param.shape(), type_, ": state '", name, "' has shape ",
              value.defined() ? to_string(value.shape()) : "undefined", " but its parameter has ",
              to_string(slot.param.shape()));
  Tensor plain = value.detach().to_desc(plain_desc(value.shape(), DType::f32));
  Tensor copy = Tensor::zeros(value.shape());
  std::memcpy(copy.data<float>(), plain.data<float>(), copy.bytes());
  slot.state[s] = copy;
}

void Optimizer::load_counter(const std::string& name, int64_t value) {
  SUGAR_CHECK(has_step_counter_, type_, ": has no step counters (asked for '", name, "')");
  SUGAR_CHECK(value >= 0, type_, ": step counter '", name, "' must be >= 0, got ", value);
  slots_[find_slot(name, "step", nullptr)].step = value;
}

}  // namespace sugar::optim
