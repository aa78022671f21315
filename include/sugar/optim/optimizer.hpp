#pragma once
// Optimizer base (torch.optim.Optimizer): parameter groups, zero_grad, step, and the per-parameter
// state exposed by name for checkpoints.
//
// Parameters must be plain f32 leaf tensors (what nn::Module registers). Gradients may arrive in any
// layout or data type; step() converts each to plain f32 first. A parameter whose gradient is
// undefined (it took no part in the loss) is skipped, state and step counter untouched, as in PyTorch.
//
// State names are "<parameter name>.<slot>", e.g. "layer1.0.conv1.weight.momentum_buffer",
// "fc.weight.exp_avg", and the scalar counters "<parameter name>.step". A parameter without a name
// (a bare tensor in a test) is called "param<i>", i counting over all groups in order.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::optim {

// The optimizers a config can name (optim.name): torch.optim's SGD, Adam and AdamW.
enum class OptimizerKind { sgd, adam, adamw };
const NameTable<OptimizerKind>& names_of(OptimizerKind);  // "sgd", "adam", "adamw"

// Which parameters weight decay applies to (optim.weight_decay_on): every one (torch.optim's default),
// or only the weights of convolutions and linear layers, leaving out normalisation parameters, biases
// and layer scales (timm's and torchvision's recipes for ConvNeXt and vision transformers).
enum class DecayScope { all, weights };
const NameTable<DecayScope>& names_of(DecayScope);  // "all", "weights"

// A group of parameters sharing a learning rate and weight decay; unset fields take the optimizer's
// defaults (PyTorch's param_groups with missing keys).
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual std::string type_name() const = 0;

  // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();
  // One update of every parameter that has a gradient (runs in no-grad mode).
  void step();

  size_t num_groups() const { return groups_.size(); }
  const std::vector<Tensor>& group_params(size_t group) const;
  double group_lr(size_t group) const;
  double group_weight_decay(size_t group) const;
  double lr() const { return group_lr(0); }
  // Sets the learning rate of every group (what an LR schedule does each iteration); lr >= 0.
  void set_lr(double lr);
  void set_group_lr(size_t group, double lr);
  // The momentum-like coefficient a one-cycle schedule cycles: SGD's momentum, Adam's beta1.
  // sugar::Error for optimizers without one.
  virtual void set_momentum(double momentum);

  // ---- checkpoint view -----------------------------------------------------------------------
  // State tensors that exist so far (created lazily on a parameter's first update), in parameter
  // order. The tensors are the live state: reading them is free; write through load_state.
  std::vector<std::pair<std::string, Tensor>> named_state() const;
  // Per-parameter step counters (Adam's state['step']); empty for optimizers without one.
  std::vector<std::pair<std::string, int64_t>> named_counters() const;
  // Sets the state named `name` to a copy of `value` (any layout; same shape as its parameter).
  void load_state(const std::string& name, const Tensor& value);
  void load_counter(const std::string& name, int64_t value);

 protected:
  struct Slot {
    Tensor param;
    std::string name;
    std::vector<Tensor> state;  // one per slot name; undefined until first used
    int64_t step = 0;
  };
  struct Group {
    std::vector<Tensor> params;
    std::vector<size_t> slots;  // indices into slots_
    double lr = 0;
    double weight_decay = 0;
  };

  // `state_names` are the per-parameter state tensors ("momentum_buffer"; "exp_avg", "exp_avg_sq").
  Optimizer(const char* type, std::vector<ParamGroup> groups, double default_lr, double default_weight_decay,
            std::vector<std::string> state_names, bool has_step_counter);

  // Updates one parameter; `grad` is plain f32 with the parameter's shape.
  virtual void update(Slot& slot, const Tensor& grad, const Group& group) = 0;

 private:
  size_t find_slot(const std::string& full_name, const std::string& suffix, size_t* state_index) const;
  const Group& checked_group(size_t group) const;

  std::vector<Group> groups_;
  std::vector<Slot> slots_;
  std::vector<std::string> state_names_;
  bool has_step_counter_;
  std::string type_;
};

// Argument checks shared by the optimizers (sugar::Error naming the optimizer and the value).
void check_lr(const char* optimizer, double lr, bool allow_zero);
void check_weight_decay(const char* optimizer, double weight_decay);

}  // namespace sugar::optim
