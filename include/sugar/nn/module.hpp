#pragma once
// Module: the unit a network is built from (PyTorch's nn.Module). A module owns
//   - parameters: plain f32 leaf tensors that require a gradient (what the optimizer updates),
//   - buffers:    plain f32 tensors that are state but not trained (BatchNorm's running statistics),
//   - counters:   int64 state (BatchNorm's num_batches_tracked; Sugar tensors are f32/bf16 only),
//   - children:   sub-modules,
// each under a local name. Names are joined with dots along the tree, exactly as PyTorch does, so a
// checkpoint key reads `layer1.0.conv1.weight`, `bn1.running_mean` or `bn1.num_batches_tracked`.
//
// Lifecycle: build the tree (constructors register everything), then call nn::initialize(root, seed)
// once. initialize() assigns every module its dotted path, names every parameter and buffer
// (Tensor::set_name) and draws the initial weights from RandomStream(seed, "init/" + name), so the
// weights depend only on the seed and the parameter's name, never on what else is in the model.
//
// Parameters are never replaced after registration: loading a checkpoint copies values into them,
// so the handles held by layers, optimizers and hooks stay valid.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::nn {

class Module;
struct DirectFlops;

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using NamedCounters = std::vector<std::pair<std::string, int64_t*>>;
using NamedModules = std::vector<std::pair<std::string, Module*>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Counters are registered by address and layers keep handles to their own tensors, so a module
  // is pinned in memory: hold it through std::shared_ptr.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // PyTorch's class name ("Conv2d", "Sequential"), for summaries and error messages.
  virtual std::string type_name() const = 0;

  // Draws this module's own parameters (not its children's) and seeds its randomness. Called by
  // nn::initialize after names are assigned; the default does nothing (parameter-free modules).
  virtual void reset_parameters(uint64_t seed);
  // Called by nn::initialize after every module's reset_parameters, children before their parents:
  // where a model family's reference sets its sub-layers' initial weights itself (torchvision's
  // VisionTransformer zeroes its head, its MLP blocks draw xavier weights), the parent does it here.
  // The default does nothing.
  virtual void reset_after_children(uint64_t seed);

  // The parameters that weight decay's `weights` scope (optim.weight_decay_on) decays: a layer's
  // weight matrix or kernel (Conv2d, Linear, attention's input projection). Norms, biases, layer
  // scales, position embeddings and tokens are not. The default: none.
  virtual std::vector<Tensor> decayed_weights() const;

  // Adds the FLOPs of this module's own last forward and its backward (not its children's) to
  // `totals` (nn/direct_flops.hpp): Conv2d, Linear and the attention modules do; the default adds
  // nothing (memory-bound layers are not counted).
  virtual void count_flops(DirectFlops& totals) const;

  // ---- registration (constructors of subclasses and containers) --------------------------------
  // Each local name must be non-empty, contain no '.', and be unique within this module across
  // parameters, buffers, counters and children; otherwise sugar::Error.

  // `value` must be a defined, plain f32 leaf tensor; it is marked requires_grad. Returns it.
  Tensor register_parameter(const std::string& name, Tensor value);
  // `value` must be a defined, plain f32 tensor. Returns it.
  Tensor register_buffer(const std::string& name, Tensor value);
  // `counter` points at an int64 owned by this module (a member), so it lives as long as the module.
  void register_counter(const std::string& name, int64_t* counter);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- inspection (registration order; own entries before children's, children depth-first) ----
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  NamedCounters named_counters() const;
  // Direct children only.
  NamedModules named_children() const;
  // This module (name "") followed by all descendants, pre-order, with their dotted paths.
  NamedModules named_modules();

  // ---- mode ------------------------------------------------------------------------------------
  // Sets the training flag of this module and of every descendant.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Dotted path of this module inside the root last passed to nn::assign_names ("" for the root).
  const std::string& path() const { return path_; }
  // The path, or the type name at the root, for messages: "layer1.0.conv1" / "Conv2d".
  std::string display_name() const;
  // True once nn::initialize has drawn this module's parameters.
  bool is_initialized() const { return initialized_; }

 private:
  friend void assign_names(Module& root);
  friend void initialize(Module& root, uint64_t seed);

  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers, NamedCounters* counters) const;
  void assign_names_under(const std::string& prefix);

  NamedTensors parameters_;
  NamedTensors buffers_;
  NamedCounters counters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  bool initialized_ = false;
  std::string path_;
};

// Gives every module its dotted path and every parameter and buffer its full dotted name.
void assign_names(Module& root);

// assign_names(root), then every module's reset_parameters(seed), pre-order, then every module's
// reset_after_children(seed), post-order. Call once after the model is assembled; calling it again
// re-draws the same weights for the same seed.
void initialize(Module& root, uint64_t seed);

// Number of trainable scalars (sum of parameter element counts), as
// sum(p.numel() for p in model.parameters()).
int64_t count_parameters(const Module& module);

}  // namespace sugar::nn
