#include <gtest/gtest.h>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/shape.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

TEST(Flatten, BlockedInputBecomesPlainRowMajor) {
  const Shape shape = {3, 5, 7, 7};
  Tensor x = testkit::random_tensor_in(testkit::blocked16(shape), 1);
  Tensor y = ops::flatten(x);
  EXPECT_EQ(y.shape(), (Shape{3, 245}));
  EXPECT_TRUE(y.is_plain());
  // x's logical values in row-major (n, c, h, w) order are exactly flatten(1)'s order.
  EXPECT_EQ(y.to_vector(), x.to_vector());
}

TEST(Flatten, PlainInputIsViewedWithoutCopy) {
  Tensor x = testkit::random_tensor({2, 3, 4}, 2);
  Tensor y = ops::flatten(x);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.raw_data(), x.raw_data());
  EXPECT_EQ(y.to_vector(), x.to_vector());
}

TEST(Flatten, BackwardRestoresShapeAndLayout) {
  const Shape shape = {3, 5, 7, 7};
  Tensor x = testkit::random_tensor_in(testkit::blocked16(shape), 3, -1, 1, true);
  Tensor y = ops::flatten(x);
  std::vector<float> seed(3 * 245);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<float>(i);
  autograd::backward(y, Tensor::from_vector({3, 245}, seed));
  EXPECT_EQ(x.grad().desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(x.grad()));
  EXPECT_EQ(x.grad().to_vector(), seed);
}

TEST(Flatten, GradientMatchesFiniteDifferencesOnBlockedLayout) {
  Tensor x = testkit::random_tensor_in(testkit::blocked16({3, 5, 7, 7}), 4, -1, 1, true);
  const auto op = [](const std::vector<Tensor>& in) { return ops::flatten(in[0]); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}

TEST(Flatten, RejectsOneDimensionalInput) {
  try {
    ops::flatten(Tensor::zeros({6}));
    ADD_FAILURE() << "a 1-d input was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("flatten: expected [N, ...] with at least 2 dimensions, got [6]"),
              std::string::npos)
        << e.what();
  }
}
