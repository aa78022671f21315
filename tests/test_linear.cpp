#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/ops/linear.hpp"
#include "sugar/primitive_cache.hpp"
#include "support/gradcheck.hpp"
#include "support/reference_conv.hpp"

using namespace sugar;

namespace {

// The transposed layout of a 2-d tensor: a valid non-plain layout for x.
memory::desc transposed(const Shape& shape) { return memory::desc(shape, memory::data_type::f32, memory::format_tag::ba); }

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Linear, ForwardMatchesNaiveDoubleReference) {
  autograd::NoGradGuard no_grad;
  for (const bool with_bias : {true, false}) {
    for (const bool transposed_input : {false, true}) {
      SCOPED_TRACE(std::string(with_bias ? "bias" : "no bias") + (transposed_input ? ", x in ba layout" : ""));
      const Tensor x = transposed_input ? testkit::random_tensor_in(transposed({3, 5}), 1)
                                        : testkit::random_tensor({3, 5}, 1);
      const Tensor w = testkit::random_tensor({4, 5}, 2);
      const Tensor b = with_bias ? testkit::random_tensor({4}, 3) : Tensor();
      const Tensor y = ops::linear(x, w, b);
      ASSERT_EQ(y.shape(), (Shape{3, 4}));
      EXPECT_TRUE(y.is_plain());
      const std::vector<double> expected = testkit::reference_linear(
          x.to_vector(), x.shape(), w.to_vector(), w.shape(), with_bias ? b.to_vector() : std::vector<float>{});
      const std::vector<float> got = y.to_vector();
      // Six f32 products and sums of values in [-1, 1]: rounding < 1e-6; a wrong index is off by ~0.1.
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5) << "output element " << i;
    }
  }
}

TEST(Linear, ForwardOnHandComputedValues) {
  // y = x W^T + b with x = [[1, 2]], W = [[3, 4], [5, 6], [7, 8]], b = [0.5, -1, 2].
  const Tensor x = Tensor::from_vector({1, 2}, {1, 2});
  const Tensor w = Tensor::from_vector({3, 2}, {3, 4, 5, 6, 7, 8});
  const Tensor b = Tensor::from_vector({3}, {0.5f, -1, 2});
  EXPECT_EQ(ops::linear(x, w, b).to_vector(), (std::vector<float>{11.5f, 16, 25}));
}

// Finite differences (gradcheck.hpp): linear in each input, so central differences are exact up to
// f32 rounding of the forward (~eps * |L| / h ~ 6e-8 * 20 / 1e-2 ~ 1e-4), well inside the default
// tolerance (2e-3 + 2%); a transposed or misindexed gradient is off by O(0.1).
TEST(Linear, GradientsMatchFiniteDifferences) {
  const Tensor x = testkit::random_tensor({3, 5}, 11, -1, 1, true);
  const Tensor w = testkit::random_tensor({4, 5}, 12, -1, 1, true);
  const Tensor b = testkit::random_tensor({4}, 13, -1, 1, true);
  const auto op = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in[2]); };
  EXPECT_EQ(testkit::check_gradients(op, {x, w, b}), 0);
}

TEST(Linear, GradientsMatchFiniteDifferencesOnTransposedInputWithoutBias) {
  const Tensor x = testkit::random_tensor_in(transposed({3, 5}), 21, -1, 1, true);
  const Tensor w = testkit::random_tensor({4, 5}, 22, -1, 1, true);
  const auto op = [](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], Tensor()); };
  EXPECT_EQ(testkit::check_gradients(op, {x, w}), 0);
  EXPECT_EQ(x.grad().desc(), x.desc()) << "the input gradient comes back in the input's layout";
}

TEST(Linear, GradientsOnHandComputedValues) {
  // L = sum(y) for y = x W^T + b: dL/dx[n][i] = sum_o W[o][i], dL/dW[o][i] = sum_n x[n][i], dL/db[o] = N.
  Tensor x = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector({3, 2}, {3, 4, 5, 6, 7, 8});
  Tensor b = Tensor::from_vector({3}, {0, 0, 0});
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  autograd::backward(ops::linear(x, w, b));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{15, 18, 15, 18}));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{4, 6, 4, 6, 4, 6}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{2, 2, 2}));
}

TEST(Linear, FanOutInputAccumulatesGradientsOfBothConsumers) {
  const Tensor x = testkit::random_tensor({3, 5}, 31, -1, 1, true);
  const Tensor w1 = testkit::random_tensor({4, 5}, 32, -1, 1, true);
  const Tensor b1 = testkit::random_tensor({4}, 33, -1, 1, true);
  const Tensor w2 = testkit::random_tensor({4, 5}, 34, -1, 1, true);
  const auto op = [](const std::vector<Tensor>& in) {
    return ops::add(ops::linear(in[0], in[1], in[2]), ops::linear(in[0], in[3], Tensor()));
  };
  EXPECT_EQ(testkit::check_gradients(op, {x, w1, b1, w2}), 0);
}

TEST(Linear, InferenceModeRecordsNothing) {
  const Tensor x = testkit::random_tensor({3, 5}, 41);
  const Tensor w = testkit::random_tensor({4, 5}, 42, -1, 1, true);
  autograd::NoGradGuard no_grad;
  const Tensor y = ops::linear(x, w, Tensor());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(autograd::tape_size(), 0u);
}

TEST(Linear, PrimitivesAreCreatedOncePerShape) {
  Tensor x = testkit::random_tensor({6, 9}, 51, -1, 1, true);
  Tensor w = testkit::random_tensor({7, 9}, 52, -1, 1, true);
  Tensor b = testkit::random_tensor({7}, 53, -1, 1, true);
  autograd::backward(ops::linear(x, w, b));
  const size_t after_first = primitive_cache_size();
  // Fresh gradients, so the second pass does not add into old ones (which creates an add primitive).
  x.zero_grad();
  w.zero_grad();
  b.zero_grad();
  autograd::backward(ops::linear(x, w, b));
  EXPECT_EQ(primitive_cache_size(), after_first);
  // With a seed of ones, dL/db = N.
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>(7, 6.0f));
}

TEST(Linear, Bf16InputRunsInBf16) {
  autograd::NoGradGuard no_grad;
  const Tensor x = testkit::random_tensor({3, 5}, 61).to_dtype(DType::bf16);
  const Tensor w = testkit::random_tensor({4, 5}, 62);
  const Tensor b = testkit::random_tensor({4}, 63);
  const Tensor y = ops::linear(x, w, b);
  EXPECT_EQ(y.dtype(), DType::bf16);
  const std::vector<double> expected = testkit::reference_linear(x.to_vector(), x.shape(),
                                                                 w.to_dtype(DType::bf16).to_vector(), w.shape(), b.to_vector());
  const std::vector<float> got = y.to_vector();
  // Operands are the bf16-rounded ones; what remains is the bf16 rounding of y (<= 2^-8 relative).
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-3 + std::abs(expected[i]) / 128) << i;
}

TEST(Linear, Bf16GradientsReachF32Parameters) {
  Tensor x = Tensor::from_vector({2, 2}, {1, 2, 3, 4}, DType::bf16);
  Tensor w = Tensor::from_vector({3, 2}, {3, 4, 5, 6, 7, 8});
  Tensor b = Tensor::from_vector({3}, {0, 0, 0});
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  autograd::backward(ops::linear(x, w, b));
  // The same hand-computed values as in f32: every operand and sum here is exact in bf16.
  EXPECT_EQ(x.grad().dtype(), DType::bf16);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{15, 18, 15, 18}));
  EXPECT_EQ(w.grad().dtype(), DType::f32);
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{4, 6, 4, 6, 4, 6}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{2, 2, 2}));
}

TEST(Linear, ErrorsNameTheOpAndTheShapes) {
  EXPECT_EQ(message_of([] { ops::linear(Tensor::zeros({2, 5}), Tensor::zeros({4, 6}), Tensor()); }),
            "linear: input has 5 features but weight expects 6 (input [2, 5], weight [4, 6])");
  const std::string bias = message_of([] { ops::linear(Tensor::zeros({2, 5}), Tensor::zeros({4, 5}), Tensor::zeros({5})); });
  EXPECT_NE(bias.find("bias must have shape [4]"), std::string::npos) << bias;
  EXPECT_NE(bias.find("got [5]"), std::string::npos) << bias;
  const std::string rank = message_of([] { ops::linear(Tensor::zeros({2, 5, 1, 1}), Tensor::zeros({4, 5}), Tensor()); });
  EXPECT_NE(rank.find("input must be 2-d"), std::string::npos) << rank;
  EXPECT_NE(rank.find("[2, 5, 1, 1]"), std::string::npos) << rank;
  const std::string weight_rank = message_of([] { ops::linear(Tensor::zeros({2, 5}), Tensor::zeros({20}), Tensor()); });
  EXPECT_NE(weight_rank.find("weight must be 2-d [O, I], got [20]"), std::string::npos) << weight_rank;
}

// nn::Linear on a feature map applies the layer at every pixel: y[n, o, h, w] = sum_i W[o, i] x[n, i, h, w]
// + b[o], summed here in double, whatever the map's layout (torchvision's ConvNeXt runs nn.Linear on
// channels-last maps).
TEST(Linear, OverAFeatureMapEveryPixelIsMapped) {
  nn::Linear layer(5, 3);
  nn::initialize(layer, 4);
  const std::vector<float> w = layer.weight().to_vector(), b = layer.bias().to_vector();
  const int64_t N = 2, C = 5, H = 2, W = 3;
  const Tensor plain = testkit::random_tensor({N, C, H, W}, 6);
  const std::vector<float> xs = plain.to_vector();
  for (const memory::format_tag tag : {memory::format_tag::nchw, memory::format_tag::nhwc, memory::format_tag::nChw16c}) {
    const Tensor y = layer(plain.to_desc(memory::desc({N, C, H, W}, memory::data_type::f32, tag)));
    ASSERT_EQ(y.shape(), (Shape{N, 3, H, W}));
    const std::vector<float> ys = y.to_vector();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < 3; ++o)
        for (int64_t p = 0; p < H * W; ++p) {
          double sum = b[static_cast<size_t>(o)];
          for (int64_t i = 0; i < C; ++i)
            sum += static_cast<double>(w[static_cast<size_t>(o * C + i)]) * xs[static_cast<size_t>((n * C + i) * H * W + p)];
          EXPECT_NEAR(ys[static_cast<size_t>((n * 3 + o) * H * W + p)], sum, 1e-5) << n << " " << o << " " << p;
        }
  }
  EXPECT_THROW(layer(Tensor::zeros({2, 4, 2, 2})), Error);
}
