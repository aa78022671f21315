#include "sugar/profiler.hpp"

#include <chrono>
#include <vector>

namespace sugar::profiler {

namespace detail {
std::atomic<bool> g_enabled{false};
}  // namespace detail

namespace {

std::array<std::atomic<int64_t>, kOpKinds> g_ns{};
std::array<std::atomic<int64_t>, kOpKinds> g_calls{};

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::atomic<ClockFn> g_clock{&steady_ns};

// One open scope: its kind, when it last started (or resumed) being charged, and how many scopes of
// the same kind are open directly inside it (they merge into it: one call, no extra clock reads).
struct Frame {
  OpKind kind;
  int64_t since;
  int64_t same_kind_inside = 0;
};

std::vector<Frame>& stack() {
  thread_local std::vector<Frame> frames;
  return frames;
}

void charge(OpKind kind, int64_t ns) { g_ns[static_cast<size_t>(kind)].fetch_add(ns, std::memory_order_relaxed); }

}  // namespace

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::conv_forward: return "conv_forward";
    case OpKind::conv_backward_data: return "conv_backward_data";
    case OpKind::conv_backward_weights: return "conv_backward_weights";
    case OpKind::batch_norm_forward: return "batch_norm_forward";
    case OpKind::batch_norm_backward: return "batch_norm_backward";
    case OpKind::layer_norm_forward: return "layer_norm_forward";
    case OpKind::layer_norm_backward: return "layer_norm_backward";
    case OpKind::activation_forward: return "activation_forward";
    case OpKind::activation_backward: return "activation_backward";
    case OpKind::add: return "add";
    case OpKind::pooling_forward: return "pooling_forward";
    case OpKind::pooling_backward: return "pooling_backward";
    case OpKind::linear: return "linear";
    case OpKind::matmul: return "matmul";
    case OpKind::attention: return "attention";
    case OpKind::loss: return "loss";
    case OpKind::reorder: return "reorder";
    case OpKind::optimizer: return "optimizer";
    case OpKind::recompute: return "recompute";
    case OpKind::none: return "none";
  }
  return "none";
}

OpKind backward_kind(OpKind forward) {
  switch (forward) {
    case OpKind::conv_forward: return OpKind::none;  // its closure times its two halves itself
    case OpKind::batch_norm_forward: return OpKind::batch_norm_backward;
    case OpKind::layer_norm_forward: return OpKind::layer_norm_backward;
    case OpKind::activation_forward: return OpKind::activation_backward;
    case OpKind::pooling_forward: return OpKind::pooling_backward;
    default: return forward;
  }
}

void set_enabled(bool on) { detail::g_enabled.store(on, std::memory_order_relaxed); }

int64_t OpTimes::total_ns() const {
  int64_t sum = 0;
  for (int64_t ns : this->ns) sum += ns;
  return sum;
}

OpTimes totals() {
  OpTimes t;
  for (size_t k = 0; k < kOpKinds; ++k) {
    t.ns[k] = g_ns[k].load(std::memory_order_relaxed);
    t.calls[k] = g_calls[k].load(std::memory_order_relaxed);
  }
  return t;
}

void reset() {
  for (size_t k = 0; k < kOpKinds; ++k) {
    g_ns[k].store(0, std::memory_order_relaxed);
    g_calls[k].store(0, std::memory_order_relaxed);
  }
}

void set_clock(ClockFn clock) { g_clock.store(clock != nullptr ? clock : &steady_ns); }
int64_t now_ns() { return g_clock.load(std::memory_order_relaxed)(); }

OpKind current_kind() {
  if (!enabled()) return OpKind::none;
  const std::vector<Frame>& frames = stack();
  return frames.empty() ? OpKind::none : frames.back().kind;
}

namespace detail {

// Entering a scope pauses the enclosing one: what it ran so far is charged now, and it resumes
// being charged when this scope ends. One clock read per transition.
void begin(OpKind kind) {
  std::vector<Frame>& frames = stack();
  if (!frames.empty() && frames.back().kind == kind) {
    ++frames.back().same_kind_inside;
    return;
  }
  const int64_t now = now_ns();
  if (!frames.empty()) charge(frames.back().kind, now - frames.back().since);
  frames.push_back({kind, now, 0});
}

void end() {
  std::vector<Frame>& frames = stack();
  if (frames.empty()) return;  // cannot happen with Scope; keeps a stray call harmless
  if (frames.back().same_kind_inside > 0) {
    --frames.back().same_kind_inside;
    return;
  }
  const int64_t now = now_ns();
  const Frame top = frames.back();
  frames.pop_back();
  charge(top.kind, now - top.since);
  g_calls[static_cast<size_t>(top.kind)].fetch_add(1, std::memory_order_relaxed);
  if (!frames.empty()) frames.back().since = now;
}

}  // namespace detail

}  // namespace sugar::profiler
