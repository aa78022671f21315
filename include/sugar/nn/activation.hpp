#pragma once
// Activation sites: the modules a model places wherever PyTorch's reference model has a ReLU.
//
// A model never names a nonlinearity itself; it asks make_activation(spec, channels) for one at each
// site (`act1`, `layer1.0.act2`, `features.2`), so the activation spec of a config replaces every
// ReLU and each site has a stable dotted name (for learnable activations' parameters, such as
// `layer1.0.act1.weight`, and for per-layer statistics).
//
// Two kinds of site module, both ActivationModule:
//   - nn::Activation: any row that is not a module row (element-wise, random, combinator such as
//     sugar). Parameter-free; activate = activations::apply_activation.
//   - a learnable module (prelu, acon_c, meta_acon_c, frelu, maxout): built by the factory that its
//     implementation registers with register_activation_module under the row's name; the factory
//     receives the spec and the site's channel count.
// A site module implements activate(); forward() (final) is activate() behind the site's observer.
//
//   // in the file that implements PReLU as a module:
//   sugar::nn::register_activation_module("prelu", [](const auto& spec, int64_t channels) {
//     return std::make_shared<PReLUActivation>(spec, channels);
//   });
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/random_calls.hpp"

namespace sugar::nn {

class ActivationModule;

// Sees the input of an activation site on its way in: train::NeuronStats measures dead units and the
// gradient reaching each site this way, whatever the concrete module. Returns the tensor the
// activation is then applied to: x itself, or x behind an autograd node that watches dL/dx go by.
class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual Tensor observe_input(const ActivationModule& site, const Tensor& x) = 0;

  // For a ReLU site run fused into the batch norm before it (nn/batch_norm_relu.hpp), in a forward
  // that records gradients: its input x was never written, so the observer sees the output
  // y = max(x, 0) instead and returns y, or y behind an autograd node that watches dL/dy go by (the
  // gradient that reaches x is dL/dy where y > 0 and 0 elsewhere). Only called when
  // watches_fused_relu() is true; an observer that needs x itself keeps the default, and its sites
  // are then not fused.
  virtual bool watches_fused_relu() const { return false; }
  virtual Tensor observe_relu_output(const ActivationModule& site, const Tensor& y);
};

// What every activation site is: a module that applies one activation spec. activation_sites() finds
// sites by this type, whatever the concrete module.
//
// forward() is final so that every site, built-in or registered, passes its input by the observer
// (when one is attached); concrete modules implement activate().
class ActivationModule : public Module {
 public:
  virtual const activations::ActivationSpec& spec() const = 0;

  Tensor forward(const Tensor& x) final {
    return activate(observer_ != nullptr ? observer_->observe_input(*this, x) : x);
  }

  // Not owned; nullptr detaches. The observer must outlive its attachment.
  void set_observer(ActivationObserver* observer) { observer_ = observer; }
  ActivationObserver* observer() const { return observer_; }

 protected:
  // The activation itself: y = f(x), recorded for autograd like any op.
  virtual Tensor activate(const Tensor& x) = 0;

 private:
  ActivationObserver* observer_ = nullptr;
};

// A parameter-free activation site: y = apply_activation(spec, x, is_training(), random).
//
// Random rows (rrelu) draw in training from RandomStream(seed, "activation/" + path + "/" + call),
// first counter 0, where seed is the one given to nn::initialize, path the module's dotted name and
// call the number of training calls so far: draws are reproducible, fresh at every step, and differ
// between sites. Evaluation draws nothing and does not count.
//
// Built for a module row whose factory has not been registered, it evaluates the row with its
// parameters fixed at the spec's values (nothing to train): make_activation documents when.
class Activation : public ActivationModule, public RandomCalls {
 public:
  // Throws sugar::Error (usage) when the spec is undefined.
  explicit Activation(activations::ActivationSpec spec);
  // Parses `spec_text` (sugar::Error of kind usage on a bad spec).
  explicit Activation(std::string_view spec_text);

  std::string type_name() const override { return "Activation"; }
  void reset_parameters(uint64_t seed) override;
  const activations::ActivationSpec& spec() const override { return spec_; }

 protected:
  Tensor activate(const Tensor& x) override;

 private:
  activations::ActivationSpec spec_;
};

// Builds the module of a learnable activation row for a site with `channels` channels.
using ActivationModuleFactory =
    std::function<std::shared_ptr<ActivationModule>(const activations::ActivationSpec& spec, int64_t channels)>;

// Registers the factory for the row called `row_name` (its canonical name, as ActivationSpec::name()
// gives it). Thread-safe. Throws sugar::Error (usage) when the row does not exist, is not of kind
// module, already has a factory, or the factory is empty.
void register_activation_module(const std::string& row_name, ActivationModuleFactory factory);

// The factory registered for `row_name`; empty when there is none.
ActivationModuleFactory find_activation_module(std::string_view row_name);

// The module for one activation site with `channels` channels (> 0):
//   - a module row with a registered factory: the factory's module (learnable parameters);
//   - any other row: nn::Activation (a module row without a factory then runs with its parameters
//     fixed at the spec's values, as `sugar activations eval` does).
// Throws sugar::Error (usage) when the spec is undefined or channels <= 0.
std::shared_ptr<ActivationModule> make_activation(const activations::ActivationSpec& spec, int64_t channels);

// Dotted paths (relative to `root`, pre-order) of every activation site under `root`:
// {"act1", "layer1.0.act1", "layer1.0.act2", ...}. Valid before nn::initialize too.
std::vector<std::string> activation_sites(Module& root);

}  // namespace sugar::nn
