// The token-tensor ops ViT and Swin are built from (ops/shape.hpp permute, slice, concat, roll;
// ops/gather.hpp index_rows; ops/add.hpp add_to_each_sample): values against index arithmetic written
// here (torch's definitions), gradients against central finite differences.
#include <gtest/gtest.h>

#include <functional>
#include <utility>
#include <numeric>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/gather.hpp"
#include "sugar/ops/shape.hpp"
#include "support/error_of.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// 0, 1, 2, ... in a plain tensor of `shape`: each value names its own position.
Tensor counting(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> values(static_cast<size_t>(n));
  std::iota(values.begin(), values.end(), 0.0f);
  return Tensor::from_vector(shape, values);
}

// The message of the sugar::Error a call throws.
template <class F>
std::string error_of(F&& body) {
  return testkit::error_of(std::forward<F>(body)).first;
}

}  // namespace

TEST(TokenOps, PermuteMovesEveryElementWhereTorchPutsIt) {
  const Tensor x = counting({2, 3, 4});
  const Tensor y = ops::permute(x, {2, 0, 1});
  ASSERT_EQ(y.shape(), (Shape{4, 2, 3}));
  const std::vector<float> v = y.to_vector();
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(v[(a * 2 + b) * 3 + c], (b * 3 + c) * 4 + a);  // y[a,b,c] = x[b,c,a]
  const Tensor input = testkit::random_tensor({2, 3, 2, 2}, 1, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::permute(in[0], {0, 2, 1, 3}); },
                                     {input}),
            0);
  EXPECT_EQ(error_of([&] { ops::permute(x, {0, 0, 1}); }), "permute: the order is not a permutation of 0..2");
}

TEST(TokenOps, SliceConcatAndRollAreTorchsNarrowCatAndRoll) {
  const Tensor x = counting({2, 5, 3});
  const std::vector<float> s = ops::slice(x, 1, 1, 3).to_vector();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(s[(a * 3 + b) * 3 + c], (a * 5 + b + 1) * 3 + c);
  const Tensor left = counting({2, 1, 3}), right = ops::slice(x, 1, 0, 2);
  const std::vector<float> cat = ops::concat({left, right}, 1).to_vector();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_EQ(cat[(a * 3 + 0) * 3 + c], a * 3 + c);
      EXPECT_EQ(cat[(a * 3 + 2) * 3 + c], (a * 5 + 1) * 3 + c);
    }
  // roll by -2 along axis 1: y[:, i] = x[:, (i + 2) mod 5].
  const std::vector<float> r = ops::roll(x, 1, -2).to_vector();
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t c = 0; c < 3; ++c) EXPECT_EQ(r[(a * 5 + i) * 3 + c], (a * 5 + (i + 2) % 5) * 3 + c);
  EXPECT_EQ(ops::roll(x, 1, 7).to_vector(), ops::roll(x, 1, 2).to_vector());

  const Tensor p = testkit::random_tensor({2, 5, 3}, 2, -1, 1, true), q = testkit::random_tensor({2, 2, 3}, 3, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::slice(in[0], -2, 2, 2); }, {p}), 0);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::concat({in[1], in[0], in[1]}, 1); },
                                     {p, q}),
            0);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::roll(ops::roll(in[0], 1, 3), 2, -1); },
                                     {p}),
            0);
  EXPECT_EQ(error_of([&] { ops::slice(x, 1, 3, 3); }), "slice: [3, 6) is not inside axis 1 of [2, 5, 3]");
  EXPECT_EQ(error_of([&] { ops::concat({x, counting({2, 5, 2})}, 1); }),
            "concat: [2, 5, 2] does not fit [2, 5, 3] beside it along axis 1");
  // bf16 moves the same bits.
  EXPECT_EQ(ops::roll(x.to_dtype(DType::bf16), 1, -2).to_vector(), r);
}

TEST(TokenOps, IndexRowsGathersAndItsGradientAddsBackRepeatedRows) {
  const Tensor table = counting({4, 2});
  const std::vector<float> y = ops::index_rows(table, {3, 0, 3}).to_vector();
  EXPECT_EQ(y, (std::vector<float>{6, 7, 0, 1, 6, 7}));
  const Tensor learned = testkit::random_tensor({4, 3}, 4, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::index_rows(in[0], {1, 1, 3, 0, 1}); },
                                     {learned}),
            0);
  EXPECT_EQ(error_of([&] { ops::index_rows(table, {4}); }), "index_rows: index 0 is 4, outside [0, 4)");
}

TEST(TokenOps, AddToEachSampleBroadcastsOverTheBatch) {
  const Tensor x = counting({3, 2, 2}), p = Tensor::from_vector({1, 2, 2}, {10, 20, 30, 40});
  const std::vector<float> y = ops::add_to_each_sample(x, p).to_vector();
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(y[n * 4 + i], n * 4 + i + 10 * (i + 1));
  const Tensor a = testkit::random_tensor({3, 2, 2}, 5, -1, 1, true), b = testkit::random_tensor({1, 2, 2}, 6, -1, 1, true);
  EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::add_to_each_sample(in[0], in[1]); },
                                     {a, b}),
            0);
}
