#include <gtest/gtest.h>

#include "sugar/autograd.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/relu.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

TEST(Autograd, FanOutAccumulatesGradients) {
  // y = (a + b) + a: a feeds two consumers, so dy/da = 2 and dy/db = 1.
  Tensor a = Tensor::from_vector({3}, {1, 2, 3});
  Tensor b = Tensor::from_vector({3}, {4, 5, 6});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor y = ops::add(ops::add(a, b), a);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{6, 9, 12}));
  autograd::backward(y);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(autograd::tape_size(), 0u);
}

TEST(Autograd, NoGradModeRecordsNothing) {
  Tensor a = Tensor::from_vector({2}, {1, 2});
  a.set_requires_grad(true);
  {
    autograd::NoGradGuard guard;
    Tensor y = ops::add(a, a);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(autograd::tape_size(), 0u);
  }
  Tensor y = ops::add(a, a);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(autograd::tape_size(), 1u);
  autograd::clear_tape();
}

TEST(Autograd, SavedTensorsAreReleasedAfterBackward) {
  Tensor a = Tensor::from_vector({2}, {1, 2});
  a.set_requires_grad(true);
  std::weak_ptr<TensorImpl> intermediate;
  {
    Tensor mid = ops::add(a, a);
    intermediate = mid.impl_ptr();
    Tensor y = ops::add(mid, a);
    autograd::backward(y);
  }
  EXPECT_TRUE(intermediate.expired());
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3, 3}));
}

// The tape keeps gradients flowing, not values: an intermediate that no backward reads (an add's
// result, read by ReLU's backward only through ReLU's own output) is freed as soon as the forward
// pass drops it, long before backward; its gradient still reaches the leaf.
TEST(Autograd, AnIntermediateNoBackwardReadsIsFreedBeforeBackward) {
  Tensor a = Tensor::from_vector({2}, {-1, 2});
  a.set_requires_grad(true);
  std::weak_ptr<Storage> sum_storage;
  Tensor y;
  {
    const Tensor sum = ops::add(a, a);  // [-2, 4]
    sum_storage = sum.storage();
    y = ops::relu(sum);  // [0, 4]
  }
  EXPECT_TRUE(sum_storage.expired());
  EXPECT_EQ(autograd::tape_size(), 2u);
  autograd::backward(y);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{0, 2}));  // d relu(2a)/da = 2 where a > 0
}

TEST(Autograd, GradReadyHookFiresOnceWhenAllUsesAreDone) {
  Tensor a = Tensor::from_vector({2}, {1, 2});
  Tensor b = Tensor::from_vector({2}, {3, 4});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  std::vector<std::string> order;
  std::vector<float> grad_at_hook;
  a.set_grad_ready_hook([&](Tensor& p) {
    order.push_back("a");
    grad_at_hook = p.grad().to_vector();
  });
  b.set_grad_ready_hook([&](Tensor&) { order.push_back("b"); });
  // a is used first and last; b only in the last op, so b's gradient is final before a's.
  Tensor y = ops::add(ops::add(a, a), b);
  y = ops::add(y, a);
  autograd::backward(y);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(grad_at_hook, (std::vector<float>{3, 3}));
}

TEST(Autograd, AddGradientMatchesFiniteDifferencesOnBlockedLayout) {
  Tensor a = testkit::random_tensor_in(testkit::blocked16({3, 5, 7, 7}), 1, -1, 1, true);
  Tensor b = testkit::random_tensor({3, 5, 7, 7}, 2, -1, 1, true);
  const auto op = [](const std::vector<Tensor>& in) { return ops::add(ops::add(in[0], in[1]), in[0]); };
  EXPECT_EQ(testkit::check_gradients(op, {a, b}), 0);
}
