#include "sugar/autograd.hpp"

#include "sugar/error.hpp"
#include "sugar/tensor_math.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::autograd {

namespace {

struct Node {
  std::string op;
  std::vector<GradTarget> inputs;  // only the inputs that require grad
  std::vector<GradTarget> outputs;
  BackwardFn backward;
  profiler::OpKind kind = profiler::OpKind::none;  // the profiler scope open at record time
};

struct Tape {
  std::vector<Node> nodes;
  bool grad_enabled = true;
};

Tape& tape() {
  thread_local Tape instance;
  return instance;
}

// A leaf's gradient is final once every recorded use of it has been back-propagated.
void release_use(AutogradState& input) {
  if (--input.pending_uses > 0) return;
  input.pending_uses = 0;
  if (input.is_leaf && input.grad_ready_hook && input.grad.defined()) {
    if (const std::shared_ptr<TensorImpl> owner = input.owner.lock()) {
      Tensor param(owner);
      input.grad_ready_hook(param);
    }
  }
}

}  // namespace

bool grad_enabled() { return tape().grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(tape().grad_enabled) { tape().grad_enabled = false; }
NoGradGuard::~NoGradGuard() { tape().grad_enabled = previous_; }

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

void record(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs,
            BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  Node node{op, {}, {}, std::move(backward), profiler::current_kind()};
  for (const Tensor& t : inputs) {
    if (!t.requires_grad()) continue;
    const GradTarget& state = autograd_state(t);
    ++state->pending_uses;
    node.inputs.push_back(state);
  }
  for (const Tensor& t : outputs) {
    const GradTarget& state = autograd_state(t);
    state->requires_grad = true;
    state->is_leaf = false;
    node.outputs.push_back(state);
  }
  tape().nodes.push_back(std::move(node));
}

GradTarget grad_target(const Tensor& tensor) { return tensor.defined() ? autograd_state(tensor) : GradTarget(); }

void accumulate_grad(const Tensor& tensor, const Tensor& grad) {
  if (tensor.requires_grad()) accumulate_grad(autograd_state(tensor), grad);
}

void accumulate_grad(const GradTarget& target, const Tensor& grad) {
  if (!target || !target->requires_grad || !grad.defined()) return;
  SUGAR_CHECK(grad.shape() == target->shape, "autograd: gradient of shape ", to_string(grad.shape()),
              " does not match tensor ", target->name, " of shape ", to_string(target->shape));
  Tensor g = grad.to_desc(target->desc);
  // Out of place on purpose: an op may hand the same gradient tensor to several inputs (add), so a
  // stored gradient is never written to again.
  target->grad = target->grad.defined() ? add_same_layout(target->grad, g) : g;
}

void backward(const Tensor& root, const Tensor& seed) {
  SUGAR_CHECK(root.defined(), "backward: the root tensor is undefined");
  SUGAR_CHECK(root.requires_grad(), "backward: the root tensor does not require a gradient "
                                    "(was it computed in no-grad mode or from constants only?)");
  Tensor start = seed;
  if (!start.defined()) {
    start = Tensor::from_desc(root.desc());
    start.fill_(1.0f);
  }
  accumulate_grad(root, start);

  Tape& t = tape();
  std::vector<Node> nodes = std::move(t.nodes);
  t.nodes.clear();
  NoGradGuard no_grad;  // the backward closures themselves are not recorded
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node& node = *it;
    std::vector<Tensor> grads;
    bool any = false;
    for (const GradTarget& out : node.outputs) {
      grads.push_back(out->grad);
      any = any || grads.back().defined();
    }
    if (any) {
      try {
        profiler::Scope scope(profiler::backward_kind(node.kind));
        node.backward(grads);
      } catch (const Error& e) {
        throw Error(std::string(e.what()) + " (in backward of " + node.op + ")", e.kind());
      } catch (const dnnl::error& e) {
        throw Error("oneDNN error in backward of " + node.op + ": " + e.what());
      }
    }
    // Intermediate gradients are not kept (PyTorch's default): free them as soon as they are used.
    for (const GradTarget& out : node.outputs)
      if (!out->is_leaf) out->grad = Tensor();
    for (const GradTarget& in : node.inputs) release_use(*in);
    node = Node{};  // release saved tensors now rather than at the end
  }
  retire_recipes();
}

void clear_tape() {
  for (Node& node : tape().nodes)
    for (const GradTarget& in : node.inputs) in->pending_uses = 0;
  tape().nodes.clear();
  retire_recipes();
}

size_t tape_size() { return tape().nodes.size(); }

}  // namespace sugar::autograd
