#pragma once
// Where a training step's time goes, per kind of op: a scoped timer that ops open around their work.
//
//   {
//     profiler::Scope scope(profiler::OpKind::conv_forward);
//     ... the convolution ...
//   }
//
// Off by default. When off, a Scope costs one relaxed atomic load and a branch, so ops keep their
// scopes in every build. `sugar bench` turns it on, resets it before the timed steps and reads the
// totals after them.
//
// Time is *exclusive*: a scope opened inside another (the reorder of a convolution's input) pauses
// the outer one, so each nanosecond is charged to exactly one kind and the totals add up to the
// wall time spent inside outermost scopes. A scope opened directly inside one of the same kind
// merges into it (one call). Time outside every scope is what a caller reports as
// "other" (its own step time minus the sum of the totals).
//
// Backward passes: autograd::record remembers the kind of the innermost scope open when an op
// records its node, and backward() runs that node's closure under backward_kind() of it. So an op
// needs one scope around its forward; convolution, whose backward has two parts, times them itself.
//
// Scopes are per thread (a thread-local stack); totals are summed over threads, so they measure
// wall time only when one thread opens scopes at a time, as in a training step.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sugar::profiler {

enum class OpKind : uint8_t {
  conv_forward,
  conv_backward_data,
  conv_backward_weights,
  batch_norm_forward,
  batch_norm_backward,
  layer_norm_forward,
  layer_norm_backward,
  activation_forward,
  activation_backward,
  add,  // residual adds and gradient accumulation
  pooling_forward,
  pooling_backward,
  linear,     // the classifier's inner product, forward and backward
  matmul,     // batched matrix products (ops::matmul), forward and backward
  attention,  // softmax(QK^T/sqrt(d) + bias) V (ops::attention), its recomputation and backward
  loss,       // cross-entropy, forward and backward
  reorder,    // layout and data-type conversions (Tensor::to_desc), destination allocation included
  optimizer,  // Optimizer::step
  recompute,  // a backward recomputing a saved activation (sugar/saved_tensor.hpp)
  none,       // not an op: a Scope of this kind times nothing
};
inline constexpr size_t kOpKinds = static_cast<size_t>(OpKind::none);

// "conv_forward", "batch_norm_backward", ..., "none".
const char* op_kind_name(OpKind kind);
// The kind a backward closure runs under when its op recorded the node inside a `forward` scope:
// batch_norm_forward -> batch_norm_backward, layer_norm_forward -> layer_norm_backward,
// activation_forward -> activation_backward,
// pooling_forward -> pooling_backward, conv_forward -> none (the closure opens conv_backward_data
// and conv_backward_weights itself, and runs only the halves it needs); every other kind maps to
// itself.
OpKind backward_kind(OpKind forward);

namespace detail {
extern std::atomic<bool> g_enabled;
void begin(OpKind kind);
void end();
}  // namespace detail

inline bool enabled() { return detail::g_enabled.load(std::memory_order_relaxed); }
void set_enabled(bool on);

// Totals since the last reset(), indexed by OpKind.
struct OpTimes {
  std::array<int64_t, kOpKinds> ns{};
  std::array<int64_t, kOpKinds> calls{};  // scopes closed
  int64_t total_ns() const;
};
OpTimes totals();
void reset();

// The clock, in nanoseconds; monotonic. Tests install a fake one; nullptr restores steady_clock.
using ClockFn = int64_t (*)();
void set_clock(ClockFn clock);
int64_t now_ns();

// The kind of the innermost scope open on this thread, none when there is none or profiling is off.
OpKind current_kind();

class Scope {
 public:
  explicit Scope(OpKind kind) {
    if (kind != OpKind::none && enabled()) {
      detail::begin(kind);
      active_ = true;
    }
  }
  ~Scope() {
    if (active_) detail::end();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  bool active_ = false;
};

}  // namespace sugar::profiler
