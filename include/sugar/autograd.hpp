#pragma once
// The tape. Each op that may need a gradient records one node during its forward pass: its inputs,
// its outputs and a backward closure built right where the forward ran (so the closure captures
// exactly what the forward saved). A node holds only the autograd states of its inputs and outputs
// (AutogradState), not their values: what backward needs stays alive only through the closure. backward() walks the tape in reverse, hands each node the
// gradients of its outputs, and the node *accumulates* into its inputs' gradients, so a tensor that
// feeds two consumers (a residual connection) receives the sum. After backward the tape is cleared,
// which releases every saved tensor.
//
// The tape is per thread. In no-grad mode (NoGradGuard) nothing is recorded.
#include <functional>
#include <string>
#include <vector>

#include "sugar/tensor.hpp"

namespace sugar::autograd {

// The closure receives the gradient of each output (undefined where no gradient reached it;
// a node is only called when at least one is defined).
using BackwardFn = std::function<void(const std::vector<Tensor>& output_grads)>;

bool grad_enabled();

// While alive, ops record nothing (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and any input requires a gradient: only then should an op record.
bool needs_grad(const std::vector<Tensor>& inputs);

// Records a node; marks the outputs as non-leaf tensors that require grad. Undefined inputs (an
// absent bias) are allowed and ignored.
void record(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward);

// Where a backward closure sends an input's gradient, without keeping the input's values alive:
// capture grad_target(x) rather than x when the backward does not read x itself (ReLU reads its
// output, add reads nothing), so x's storage is freed once the forward pass drops x.
using GradTarget = std::shared_ptr<AutogradState>;
GradTarget grad_target(const Tensor& tensor);  // an empty target for an undefined tensor

// Adds `grad` into `tensor`'s gradient, reordering it to the tensor's layout if needed. Does nothing
// when the tensor does not require a gradient, so backward closures may call it unconditionally.
void accumulate_grad(const Tensor& tensor, const Tensor& grad);
void accumulate_grad(const GradTarget& target, const Tensor& grad);

// Back-propagates from `root` (seed gradient: ones of root's shape unless given), then clears the tape.
void backward(const Tensor& root, const Tensor& seed = Tensor());

// Drops the recorded nodes without running them (a forward pass whose result is thrown away).
void clear_tape();
size_t tape_size();

}  // namespace sugar::autograd
