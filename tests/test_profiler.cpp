// The op profiler: exclusive accounting of nested scopes checked to the nanosecond with a fake clock,
// and, on a small real network, which kinds a forward, backward and SGD step are charged to.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "sugar/ops/conv2d.hpp"
#include "sugar/ops/linear.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/ops/pool.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/ops/shape.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/profiler.hpp"

using namespace sugar;
using profiler::OpKind;
using profiler::Scope;

namespace {

int64_t g_fake_now = 0;
int64_t fake_clock() { return g_fake_now; }

// Profiling on, totals zero, the fake clock at 0; everything restored afterwards.
class ProfilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    profiler::set_clock(&fake_clock);
    g_fake_now = 0;
    profiler::reset();
    profiler::set_enabled(true);
  }
  void TearDown() override {
    profiler::set_enabled(false);
    profiler::set_clock(nullptr);
    profiler::reset();
  }
  static int64_t ns(OpKind kind) { return profiler::totals().ns[static_cast<size_t>(kind)]; }
  static int64_t calls(OpKind kind) { return profiler::totals().calls[static_cast<size_t>(kind)]; }
};

TEST_F(ProfilerTest, NestedScopesAreChargedExclusively) {
  {
    Scope conv(OpKind::conv_forward);  // t = 0
    g_fake_now = 10;
    {
      Scope reorder(OpKind::reorder);
      g_fake_now = 15;
    }
    g_fake_now = 40;
  }
  g_fake_now = 50;  // outside every scope: charged to nothing
  {
    Scope add(OpKind::add);
    g_fake_now = 53;
  }
  EXPECT_EQ(ns(OpKind::conv_forward), 10 + 25);
  EXPECT_EQ(ns(OpKind::reorder), 5);
  EXPECT_EQ(ns(OpKind::add), 3);
  EXPECT_EQ(calls(OpKind::conv_forward), 1);
  EXPECT_EQ(calls(OpKind::reorder), 1);
  EXPECT_EQ(calls(OpKind::add), 1);
  // The two outermost scopes spanned 40 + 3 ns: nothing counted twice, nothing lost.
  EXPECT_EQ(profiler::totals().total_ns(), 43);
}

TEST_F(ProfilerTest, ThreeLevelsAndSequentialChildren) {
  // bn [0, 100) holds reorder [10, 30) and add [50, 60); the reorder holds activation [12, 20).
  {
    Scope bn(OpKind::batch_norm_backward);
    g_fake_now = 10;
    {
      Scope reorder(OpKind::reorder);
      g_fake_now = 12;
      {
        Scope act(OpKind::activation_backward);
        g_fake_now = 20;
      }
      g_fake_now = 30;
    }
    g_fake_now = 50;
    {
      Scope add(OpKind::add);
      g_fake_now = 60;
    }
    g_fake_now = 100;
  }
  EXPECT_EQ(ns(OpKind::batch_norm_backward), 10 + 20 + 40);
  EXPECT_EQ(ns(OpKind::reorder), 2 + 10);
  EXPECT_EQ(ns(OpKind::activation_backward), 8);
  EXPECT_EQ(ns(OpKind::add), 10);
  EXPECT_EQ(profiler::totals().total_ns(), 100);
}

TEST_F(ProfilerTest, SameKindInsideMergesAndNoneTimesNothing) {
  {
    Scope outer(OpKind::reorder);
    g_fake_now = 5;
    {
      Scope inner(OpKind::reorder);  // merges: still one call
      g_fake_now = 9;
      Scope nothing(OpKind::none);  // does not pause the reorder
      g_fake_now = 11;
    }
    EXPECT_EQ(profiler::current_kind(), OpKind::reorder);
    g_fake_now = 20;
  }
  EXPECT_EQ(profiler::current_kind(), OpKind::none);
  EXPECT_EQ(ns(OpKind::reorder), 20);
  EXPECT_EQ(calls(OpKind::reorder), 1);
  EXPECT_EQ(profiler::totals().total_ns(), 20);
}

TEST_F(ProfilerTest, DisabledScopesRecordNothingAndResetClears) {
  profiler::set_enabled(false);
  {
    Scope conv(OpKind::conv_forward);
    EXPECT_EQ(profiler::current_kind(), OpKind::none);
    g_fake_now = 7;
  }
  EXPECT_EQ(profiler::totals().total_ns(), 0);
  EXPECT_EQ(calls(OpKind::conv_forward), 0);

  profiler::set_enabled(true);
  {
    Scope conv(OpKind::conv_forward);
    g_fake_now = 9;
  }
  EXPECT_EQ(ns(OpKind::conv_forward), 2);
  profiler::reset();
  EXPECT_EQ(profiler::totals().total_ns(), 0);
  EXPECT_EQ(calls(OpKind::conv_forward), 0);
}

TEST(ProfilerNames, EveryKindHasADistinctNameAndBackwardKind) {
  std::vector<std::string> names;
  for (size_t k = 0; k < profiler::kOpKinds; ++k) names.push_back(profiler::op_kind_name(static_cast<OpKind>(k)));
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  EXPECT_STREQ(profiler::op_kind_name(OpKind::conv_backward_weights), "conv_backward_weights");
  EXPECT_EQ(profiler::backward_kind(OpKind::batch_norm_forward), OpKind::batch_norm_backward);
  EXPECT_EQ(profiler::backward_kind(OpKind::layer_norm_forward), OpKind::layer_norm_backward);
  EXPECT_EQ(profiler::backward_kind(OpKind::activation_forward), OpKind::activation_backward);
  EXPECT_EQ(profiler::backward_kind(OpKind::pooling_forward), OpKind::pooling_backward);
  EXPECT_EQ(profiler::backward_kind(OpKind::conv_forward), OpKind::none);
  EXPECT_EQ(profiler::backward_kind(OpKind::add), OpKind::add);
}

Tensor parameter(const Shape& shape, float value) {
  Tensor t = Tensor::full(shape, value);
  t.set_requires_grad(true);
  return t;
}

// conv -> bn -> relu, a residual add of bn and relu outputs, max-pool, flatten, linear, cross-entropy,
// backward and one SGD step, with the real clock: every op's forward and backward lands in its kind.
TEST(ProfilerOps, ForwardBackwardAndStepAreChargedToTheirKinds) {
  profiler::reset();
  profiler::set_enabled(true);
  const auto start = std::chrono::steady_clock::now();

  Tensor x = Tensor::full({2, 3, 8, 8}, 0.5f);
  x.set_requires_grad(true);
  std::vector<float> ramp(16 * 3 * 3 * 3);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
  Tensor conv_w = Tensor::from_vector({16, 3, 3, 3}, ramp);
  conv_w.set_requires_grad(true);
  Tensor bn_w = parameter({16}, 1.0f), bn_b = parameter({16}, 0.0f);
  Tensor running_mean = Tensor::zeros({16}), running_var = Tensor::full({16}, 1.0f);
  Tensor fc_w = parameter({4, 16 * 4 * 4}, 0.01f), fc_b = parameter({4}, 0.0f);

  ops::Conv2dOptions conv_options;
  conv_options.padding = {1, 1};
  const Tensor c = ops::conv2d(x, conv_w, Tensor(), conv_options);
  const Tensor b = ops::batch_norm2d(c, bn_w, bn_b, running_mean, running_var, ops::BatchNormOptions{});
  const Tensor r = ops::relu(b);
  const Tensor s = ops::add(b, r);
  const Tensor p = ops::max_pool2d(s, ops::Pool2dOptions{});
  const Tensor logits = ops::linear(ops::flatten(p), fc_w, fc_b);
  const Tensor loss = ops::cross_entropy(logits, {1, 3});
  autograd::backward(loss);
  optim::SgdOptions sgd_options;
  sgd_options.momentum = 0.9;
  optim::SGD sgd({conv_w, bn_w, bn_b, fc_w, fc_b}, sgd_options);
  sgd.step();

  const int64_t wall_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  profiler::set_enabled(false);
  const profiler::OpTimes t = profiler::totals();
  profiler::reset();
  const auto calls = [&](OpKind kind) { return t.calls[static_cast<size_t>(kind)]; };

  EXPECT_EQ(calls(OpKind::conv_forward), 1);
  EXPECT_EQ(calls(OpKind::conv_backward_data), 1);
  EXPECT_EQ(calls(OpKind::conv_backward_weights), 1);
  EXPECT_EQ(calls(OpKind::batch_norm_forward), 1);
  EXPECT_EQ(calls(OpKind::batch_norm_backward), 1);
  EXPECT_EQ(calls(OpKind::activation_forward), 1);
  EXPECT_EQ(calls(OpKind::activation_backward), 1);
  // The forward add, its backward, and b's gradient (from the add and from relu) summed once.
  EXPECT_EQ(calls(OpKind::add), 3);
  EXPECT_EQ(calls(OpKind::pooling_forward), 1);
  EXPECT_EQ(calls(OpKind::pooling_backward), 1);
  EXPECT_EQ(calls(OpKind::linear), 2);  // forward and backward
  EXPECT_EQ(calls(OpKind::loss), 2);
  EXPECT_EQ(calls(OpKind::optimizer), 1);
  EXPECT_GE(calls(OpKind::reorder), 2);  // at least the conv weight into its layout and flatten's copy
  for (size_t k = 0; k < profiler::kOpKinds; ++k) {
    if (t.calls[k] > 0) EXPECT_GT(t.ns[k], 0) << profiler::op_kind_name(static_cast<OpKind>(k));
  }
  // Exclusive accounting on one thread: the kinds never add up to more than the wall time.
  EXPECT_LE(t.total_ns(), wall_ns);
}

TEST(ProfilerOps, OffByDefaultAndRecordsNothingWhenOff) {
  profiler::reset();
  EXPECT_FALSE(profiler::enabled());
  Tensor x = Tensor::full({1, 16, 4, 4}, -1.0f);
  x.set_requires_grad(true);
  const Tensor y = ops::add(ops::relu(x), x);
  autograd::backward(y, Tensor::full({1, 16, 4, 4}, 1.0f));
  EXPECT_EQ(profiler::totals().total_ns(), 0);
  for (int64_t c : profiler::totals().calls) EXPECT_EQ(c, 0);
}

}  // namespace
