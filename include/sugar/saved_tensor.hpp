#pragma once
// Recomputation of saved activations (activation checkpointing for cheap ops).
//
// In a conv -> batch-norm -> activation block, a backward closure would keep two full-size tensors per
// block alive from the forward to the backward: the convolution's output (the batch-norm's backward
// reads it) and the activation's output (the activation's backward and the next convolution's
// backward-weights read it). The second one is a cheap function of the first: batch-norm with the
// batch statistics the forward measured, then the activation. So the batch-norm and the activation
// attach a recipe to their outputs (set_recompute), and a backward closure keeps a SavedTensor rather
// than the tensor: a tensor with a recipe is saved as its recipe only, its storage is freed as soon
// as the forward pass lets go of it, and the backward recomputes it on first use. The recomputed
// values are kept while another SavedTensor of the same tensor may still ask (the activation's
// backward right after the next convolution's), then freed.
//
// Only recipes whose inputs the backward keeps anyway are attached (a batch-norm's input, or a
// recipe's output), so a recipe never holds more memory than the tensor it stands for. The cost is one
// batch-norm forward and one activation forward per block in the backward. A recipe must give the
// forward's values exactly: only deterministic ops attach one (element-wise rows must be pure
// functions of x and their parameters; random and learnable rows attach none). A tensor whose
// storage is written in place after its recipe was attached is saved as itself.
#include <functional>
#include <memory>

#include "sugar/tensor.hpp"

namespace sugar::autograd {

// Whether ops attach recipes: on by default; train.recompute: false and `sugar bench --no-recompute`
// turn it off, trading the memory back for the recomputation time. Per thread, like the tape
// (sugar::train sets it on the thread that trains, from the config).
bool recompute_enabled();
void set_recompute_enabled(bool enabled);

// Attaches `recompute` to `output`: a function that makes a tensor with output's layout and values
// from tensors the backward keeps anyway. Does nothing while recomputation is off.
void set_recompute(const Tensor& output, std::function<Tensor()> recompute);
// True when `t` has a recipe that has not run yet and t was not written in place since it was
// attached (an op's output can then get a recipe of its own).
bool has_recompute(const Tensor& t);
// Drops what the recipes attached on this thread captured, except those a SavedTensor still holds:
// called by autograd::backward and clear_tape once the tape is empty, so that a forward output kept
// after the backward (features a caller holds on to) does not keep its batch-norm input alive.
void retire_recipes();

struct Rematerializer;

// What a backward closure captures instead of a tensor whose values it reads.
class SavedTensor {
 public:
  SavedTensor() = default;
  // Keeps t's recipe when it has one, else t itself (an undefined t stays undefined).
  explicit SavedTensor(const Tensor& t);
  SavedTensor(const SavedTensor& other);
  SavedTensor(SavedTensor&& other) noexcept;
  SavedTensor& operator=(SavedTensor other) noexcept;
  ~SavedTensor();

  bool defined() const { return tensor_.defined() || recipe_ != nullptr; }
  bool holds_recipe() const { return recipe_ != nullptr; }  // saved as a recipe, not as the tensor
  // The values: the saved tensor, or the recipe's result (computed on the first call).
  Tensor get() const;

 private:
  void swap(SavedTensor& other) noexcept;
  Tensor tensor_;
  std::shared_ptr<Rematerializer> recipe_;
};

}  // namespace sugar::autograd
