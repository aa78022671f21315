#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/conv2d.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/profiler.hpp"
#include "support/gradcheck.hpp"
#include "support/reference_conv.hpp"

using namespace sugar;
using ops::Conv2dOptions;
using ops::Dims2;

namespace {

struct ConvCase {
  std::string name;
  Shape x_shape, weight_shape;
  Conv2dOptions options;
  bool with_bias;
  bool blocked_input;  // x in nChw16c (what a previous convolution hands over) instead of nchw
};

Conv2dOptions make_options(Dims2 stride, Dims2 padding, Dims2 dilation, int64_t groups) {
  Conv2dOptions o;
  o.stride = stride;
  o.padding = padding;
  o.dilation = dilation;
  o.groups = groups;
  return o;
}

// The odd sizes of the issue (batch 3, 5 channels, 7x7 images) with every option exercised.
std::vector<ConvCase> forward_cases() {
  return {
      {"dense_3x3_pad1_bias", {3, 5, 7, 7}, {4, 5, 3, 3}, make_options({1, 1}, {1, 1}, {1, 1}, 1), true, false},
      {"stride2_pad1_blocked", {3, 5, 7, 7}, {6, 5, 3, 3}, make_options({2, 2}, {1, 1}, {1, 1}, 1), true, true},
      {"dilation2_pad1", {3, 5, 7, 7}, {4, 5, 3, 3}, make_options({1, 1}, {1, 1}, {2, 2}, 1), true, false},
      {"groups5_depthwise_no_bias", {3, 5, 7, 7}, {10, 1, 3, 3}, make_options({1, 1}, {1, 1}, {1, 1}, 5), false,
       true},
      {"all_options_together", {3, 5, 7, 7}, {10, 1, 3, 3}, make_options({2, 2}, {1, 1}, {2, 2}, 5), false, false},
      {"rectangular_kernel_and_stride", {2, 5, 7, 6}, {3, 5, 3, 2}, make_options({2, 1}, {1, 0}, {1, 2}, 1), true,
       false},
      // 1x1 stride 2 on an even size: PyTorch's floor drops the last row (ResNet's downsample shortcut).
      {"pointwise_stride2_even_size", {2, 16, 8, 8}, {32, 16, 1, 1}, make_options({2, 2}, {0, 0}, {1, 1}, 1), true,
       true},
  };
}

Tensor input_for(const ConvCase& c, uint64_t seed, bool requires_grad) {
  return c.blocked_input ? testkit::random_tensor_in(testkit::blocked16(c.x_shape), seed, -1, 1, requires_grad)
                         : testkit::random_tensor(c.x_shape, seed, -1, 1, requires_grad);
}

}  // namespace

TEST(Conv2d, ForwardMatchesNaiveDoubleReference) {
  autograd::NoGradGuard no_grad;
  for (const ConvCase& c : forward_cases()) {
    SCOPED_TRACE(c.name);
    const Tensor x = input_for(c, 11, false);
    const Tensor w = testkit::random_tensor(c.weight_shape, 12);
    const Tensor b = c.with_bias ? testkit::random_tensor({c.weight_shape[0]}, 13) : Tensor();
    const Tensor y = ops::conv2d(x, w, b, c.options);

    Shape expected_shape;
    const std::vector<double> expected =
        testkit::reference_conv2d(x.to_vector(), c.x_shape, w.to_vector(), c.weight_shape,
                                  c.with_bias ? b.to_vector() : std::vector<float>{}, c.options, &expected_shape);
    ASSERT_EQ(y.shape(), expected_shape);
    const std::vector<float> got = y.to_vector();
    ASSERT_EQ(got.size(), expected.size());
    // Each output sums at most 5 * 3 * 3 + 1 = 46 products of values in [-1, 1] (16 for the 1x1 case)
    // in f32: the rounding error is ~46 * 6e-8 * |terms| < 1e-5, so 1e-4 leaves margin yet catches any
    // wrong index (which changes an output by ~0.1 or more).
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-4) << "output element " << i;
    EXPECT_TRUE(testkit::padding_is_zero(y)) << "padding lanes of the output must be zero";
  }
}

TEST(Conv2d, OutputStaysInBlockedLayoutSoTheNextConvNeedsNoReorder) {
  autograd::NoGradGuard no_grad;
  const Tensor x = testkit::random_tensor({2, 16, 8, 8}, 1);
  const Tensor w = testkit::random_tensor({16, 16, 3, 3}, 2);
  const Conv2dOptions same = make_options({1, 1}, {1, 1}, {1, 1}, 1);
  const Tensor y = ops::conv2d(x, w, Tensor(), same);
  // oneDNN's direct convolutions on AVX2/AVX-512 work on channel blocks (nChw8c / nChw16c).
  EXPECT_FALSE(y.is_plain()) << describe(y.desc());
  const Tensor z = ops::conv2d(y, w, Tensor(), same);
  EXPECT_EQ(z.desc(), y.desc()) << "a chain of equal convolutions keeps one layout";
}

TEST(Conv2d, InferenceModeRecordsNothingAndMatchesTraining) {
  const Tensor x = testkit::random_tensor({3, 5, 7, 7}, 3);
  const Tensor w = testkit::random_tensor({4, 5, 3, 3}, 4, -1, 1, true);
  const Tensor b = testkit::random_tensor({4}, 5, -1, 1, true);
  const Conv2dOptions o = make_options({2, 2}, {1, 1}, {1, 1}, 1);
  std::vector<float> inference;
  {
    autograd::NoGradGuard no_grad;
    const Tensor y = ops::conv2d(x, w, b, o);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(autograd::tape_size(), 0u);
    inference = y.to_vector();
  }
  const Tensor y = ops::conv2d(x, w, b, o);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_EQ(autograd::tape_size(), 1u);
  EXPECT_EQ(y.to_vector(), inference);
  autograd::clear_tape();
}

// dL/dx reads the weight itself in the backward (no copy is kept from the forward), so a weight
// written between the two would silently give the gradient of another convolution: it is an error.
TEST(Conv2d, BackwardRefusesAWeightWrittenInPlaceAfterTheForward) {
  const Tensor x = testkit::random_tensor({2, 5, 6, 6}, 11, -1, 1, true);
  const Tensor w = testkit::random_tensor({4, 5, 3, 3}, 12, -1, 1, true);
  const Conv2dOptions o = make_options({1, 1}, {1, 1}, {1, 1}, 1);
  const Tensor y = ops::conv2d(x, w, Tensor(), o);
  w.data<float>()[0] += 1.0f;
  w.bump_version();
  try {
    autograd::backward(y, Tensor::full(y.shape(), 1.0f));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("written in place after the forward"), std::string::npos) << e.what();
  }
  autograd::clear_tape();
}

// Finite differences (gradcheck.hpp): the convolution is linear in each input, so central
// differences are exact up to f32 rounding of the forward, ~eps * |L| / h ~ 6e-8 * 50 / 1e-2 = 3e-4
// for these few hundred outputs; the default tolerance (2e-3 + 2% of the value) covers that, while a
// wrong gradient (a misplaced tap, a missed group) is off by O(0.1 .. 1).
TEST(Conv2d, GradientsMatchFiniteDifferencesOnPlainInput) {
  const Tensor x = testkit::random_tensor({3, 5, 7, 7}, 21, -1, 1, true);
  const Tensor w = testkit::random_tensor({4, 5, 3, 3}, 22, -1, 1, true);
  const Tensor b = testkit::random_tensor({4}, 23, -1, 1, true);
  const Conv2dOptions o = make_options({2, 2}, {1, 1}, {1, 1}, 1);
  const auto op = [&](const std::vector<Tensor>& in) { return ops::conv2d(in[0], in[1], in[2], o); };
  EXPECT_EQ(testkit::check_gradients(op, {x, w, b}), 0);
  EXPECT_TRUE(x.grad().is_plain()) << "the input gradient comes back in the input's layout";
  EXPECT_TRUE(w.grad().is_plain()) << "the weight gradient is in PyTorch's plain oihw";
}

TEST(Conv2d, GradientsMatchFiniteDifferencesOnBlockedInputWithDilation) {
  const Tensor x = testkit::random_tensor_in(testkit::blocked16({3, 5, 7, 7}), 31, -1, 1, true);
  const Tensor w = testkit::random_tensor({6, 5, 3, 3}, 32, -1, 1, true);
  const Tensor b = testkit::random_tensor({6}, 33, -1, 1, true);
  const Conv2dOptions o = make_options({2, 2}, {1, 1}, {2, 2}, 1);
  const auto op = [&](const std::vector<Tensor>& in) { return ops::conv2d(in[0], in[1], in[2], o); };
  // check_gradients also asserts that the 11 padding lanes of each 16-channel block stay zero.
  EXPECT_EQ(testkit::check_gradients(op, {x, w, b}), 0);
  EXPECT_EQ(x.grad().desc(), x.desc()) << "the input gradient comes back in the input's blocked layout";
}

TEST(Conv2d, GradientsMatchFiniteDifferencesWithGroupsAndNoBias) {
  // Depthwise-style: 5 groups of one input channel, two output channels each.
  const Tensor x = testkit::random_tensor_in(testkit::blocked16({3, 5, 7, 7}), 41, -1, 1, true);
  const Tensor w = testkit::random_tensor({10, 1, 3, 3}, 42, -1, 1, true);
  const Conv2dOptions o = make_options({2, 2}, {1, 1}, {1, 1}, 5);
  const auto op = [&](const std::vector<Tensor>& in) { return ops::conv2d(in[0], in[1], Tensor(), o); };
  EXPECT_EQ(testkit::check_gradients(op, {x, w}), 0);
  EXPECT_EQ(w.grad().shape(), (Shape{10, 1, 3, 3}));
}

TEST(Conv2d, FanOutInputAccumulatesGradientsOfBothConsumers) {
  // y = conv(x, w1, b1) + conv(x, w2): x feeds two convolutions (a residual block's shape).
  Tensor x = testkit::random_tensor_in(testkit::blocked16({3, 5, 7, 7}), 51, -1, 1, true);
  const Tensor w1 = testkit::random_tensor({4, 5, 3, 3}, 52, -1, 1, true);
  const Tensor b1 = testkit::random_tensor({4}, 53, -1, 1, true);
  const Tensor w2 = testkit::random_tensor({4, 5, 1, 1}, 54, -1, 1, true);
  const Conv2dOptions three = make_options({2, 2}, {1, 1}, {1, 1}, 1);
  const Conv2dOptions one = make_options({2, 2}, {0, 0}, {1, 1}, 1);
  const auto op = [&](const std::vector<Tensor>& in) {
    return ops::add(ops::conv2d(in[0], in[1], in[2], three), ops::conv2d(in[0], in[3], Tensor(), one));
  };
  EXPECT_EQ(testkit::check_gradients(op, {x, w1, b1, w2}), 0);

  // The accumulated gradient is exactly the sum of what each branch alone gives.
  x.zero_grad();
  autograd::backward(ops::conv2d(x, w1, b1, three));
  const std::vector<float> first = x.grad().to_vector();
  x.zero_grad();
  autograd::backward(ops::conv2d(x, w2, Tensor(), one));
  const std::vector<float> second = x.grad().to_vector();
  x.zero_grad();
  autograd::backward(op({x, w1, b1, w2}));
  const std::vector<float> summed = x.grad().to_vector();
  ASSERT_EQ(summed.size(), first.size());
  for (size_t i = 0; i < summed.size(); ++i) ASSERT_NEAR(summed[i], first[i] + second[i], 1e-5) << i;
}

TEST(Conv2d, PrimitivesAreCreatedOncePerShape) {
  Tensor x = testkit::random_tensor({3, 5, 9, 9}, 61, -1, 1, true);
  Tensor w = testkit::random_tensor({7, 5, 3, 3}, 62, -1, 1, true);
  Tensor b = testkit::random_tensor({7}, 63, -1, 1, true);
  const Conv2dOptions o = make_options({1, 1}, {1, 1}, {1, 1}, 1);
  autograd::backward(ops::conv2d(x, w, b, o));
  const size_t after_first = primitive_cache_size();
  const std::vector<float> first_grad = w.grad().to_vector();
  // Fresh gradients, so the second pass does not add into old ones (that would create the add
  // primitive, which is not the convolution's doing).
  x.zero_grad();
  w.zero_grad();
  b.zero_grad();
  autograd::backward(ops::conv2d(x, w, b, o));
  EXPECT_EQ(primitive_cache_size(), after_first) << "a second identical forward + backward creates nothing";
  EXPECT_EQ(w.grad().to_vector(), first_grad);
  {
    autograd::NoGradGuard no_grad;
    ops::conv2d(x, w, b, o);
    const size_t with_inference = primitive_cache_size();
    ops::conv2d(x, w, b, o);
    EXPECT_EQ(primitive_cache_size(), with_inference);
  }
}

TEST(Conv2d, Bf16InputRunsInBf16AndMatchesReference) {
  autograd::NoGradGuard no_grad;
  const Tensor x32 = testkit::random_tensor({3, 5, 7, 7}, 71);
  const Tensor w = testkit::random_tensor({4, 5, 3, 3}, 72);
  const Tensor b = testkit::random_tensor({4}, 73);
  const Conv2dOptions o = make_options({2, 2}, {1, 1}, {1, 1}, 1);
  const Tensor x = x32.to_dtype(DType::bf16);
  const Tensor y = ops::conv2d(x, w, b, o);
  EXPECT_EQ(y.dtype(), DType::bf16);
  Shape shape;
  // Reference on the bf16-rounded operands, so only the accumulation and the bf16 output rounding
  // remain: |y| <= 46, a bf16 rounding of the result is <= 2^-8 relative, plus f32 accumulation.
  const std::vector<double> expected = testkit::reference_conv2d(
      x.to_vector(), x.shape(), w.to_dtype(DType::bf16).to_vector(), w.shape(), b.to_vector(), o, &shape);
  const std::vector<float> got = y.to_vector();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], 1e-3 + std::abs(expected[i]) / 128) << "output element " << i;
}

TEST(Conv2d, Bf16GradientsReachF32Parameters) {
  Tensor x = testkit::random_tensor({3, 5, 7, 7}, 81).to_dtype(DType::bf16);
  x.set_requires_grad(true);
  const Tensor w = testkit::random_tensor({4, 5, 3, 3}, 82, -1, 1, true);
  const Tensor b = testkit::random_tensor({4}, 83, -1, 1, true);
  const Conv2dOptions o = make_options({1, 1}, {1, 1}, {1, 1}, 1);
  autograd::backward(ops::conv2d(x, w, b, o));
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::bf16);
  EXPECT_EQ(w.grad().dtype(), DType::f32);
  // With a seed of ones, dL/dbias[o] = number of outputs per channel = 3 * 7 * 7, exact in f32.
  EXPECT_EQ(b.grad().to_vector(), std::vector<float>(4, 147.0f));

  // dL/dw from bf16 activations agrees with the f32 computation to bf16 precision (~0.4% per term).
  const Tensor x32 = Tensor::from_vector(x.shape(), x.to_vector());
  Tensor w32 = w.detach();
  w32.set_requires_grad(true);
  autograd::backward(ops::conv2d(x32, w32, Tensor(), o));
  const std::vector<float> g16 = w.grad().to_vector(), g32 = w32.grad().to_vector();
  for (size_t i = 0; i < g32.size(); ++i) ASSERT_NEAR(g16[i], g32[i], 0.05 + std::abs(g32[i]) / 64) << i;
}

TEST(Conv2d, ErrorsNameTheOpAndTheShapes) {
  const auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  const Tensor x = Tensor::zeros({2, 4, 7, 7});
  const Tensor w = Tensor::zeros({8, 3, 3, 3});
  EXPECT_EQ(message_of([&] { ops::conv2d(x, w, Tensor()); }),
            "conv2d: input has 4 channels but weight expects 3 (input [2, 4, 7, 7], weight [8, 3, 3, 3])");

  const std::string groups = message_of([&] {
    ops::conv2d(Tensor::zeros({2, 6, 7, 7}), Tensor::zeros({8, 2, 3, 3}), Tensor(), make_options({1, 1}, {0, 0}, {1, 1}, 3));
  });
  EXPECT_NE(groups.find("not divisible by groups 3"), std::string::npos) << groups;
  EXPECT_NE(groups.find("[8, 2, 3, 3]"), std::string::npos) << groups;

  const std::string per_group = message_of([&] {
    ops::conv2d(Tensor::zeros({2, 10, 7, 7}), Tensor::zeros({10, 1, 3, 3}), Tensor(), make_options({1, 1}, {0, 0}, {1, 1}, 5));
  });
  EXPECT_EQ(per_group, "conv2d: input has 10 channels but weight expects 5 (1 per group x 5 groups) "
                       "(input [2, 10, 7, 7], weight [10, 1, 3, 3])");

  const std::string bias = message_of([&] { ops::conv2d(Tensor::zeros({2, 3, 7, 7}), w, Tensor::zeros({7})); });
  EXPECT_NE(bias.find("bias must have shape [8]"), std::string::npos) << bias;
  EXPECT_NE(bias.find("got [7]"), std::string::npos) << bias;

  const std::string rank = message_of([&] { ops::conv2d(Tensor::zeros({4, 7, 7}), w, Tensor()); });
  EXPECT_NE(rank.find("input must be 4-d"), std::string::npos) << rank;
  EXPECT_NE(rank.find("[4, 7, 7]"), std::string::npos) << rank;

  const std::string weight_rank = message_of([&] { ops::conv2d(x, Tensor::zeros({8, 4, 3}), Tensor()); });
  EXPECT_NE(weight_rank.find("weight must be 4-d"), std::string::npos) << weight_rank;

  const std::string empty = message_of([&] {
    ops::conv2d(Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({2, 3, 3, 3}), Tensor(), make_options({1, 1}, {0, 0}, {2, 2}, 1));
  });
  EXPECT_NE(empty.find("smaller than the dilated kernel's 5"), std::string::npos) << empty;
  EXPECT_NE(empty.find("[1, 3, 4, 4]"), std::string::npos) << empty;

  const std::string stride = message_of([&] {
    ops::conv2d(Tensor::zeros({1, 3, 4, 4}), Tensor::zeros({2, 3, 3, 3}), Tensor(), make_options({0, 1}, {0, 0}, {1, 1}, 1));
  });
  EXPECT_NE(stride.find("stride must be at least 1, got (0, 1)"), std::string::npos) << stride;
}

namespace {

// Reorders the profiler saw during `run`.
template <class F>
int64_t reorders_during(F run) {
  profiler::set_enabled(true);
  profiler::reset();
  run();
  const int64_t calls = profiler::totals().calls[static_cast<size_t>(profiler::OpKind::reorder)];
  profiler::set_enabled(false);
  return calls;
}

}  // namespace

// nn::Conv2d keeps its weight in the primitive's blocked layout until the weight is written (an
// optimizer step, a checkpoint, fill_): evaluation reorders each weight once per version, not per batch.
TEST(Conv2d, LayerReordersItsWeightOncePerVersionOfTheWeight) {
  nn::Conv2d conv(16, 32, 3, 1, 1);
  nn::initialize(conv, 3);
  conv.eval();
  // A blocked input, as from a previous convolution: the only reorder left is the weight's.
  const Tensor x = testkit::random_tensor_in(testkit::blocked16({2, 16, 8, 8}), 4);
  const auto stateless = [&] { return ops::conv2d(x, conv.weight(), conv.bias(), conv.options()).to_vector(); };
  autograd::NoGradGuard no_grad;
  std::vector<float> first, again;
  EXPECT_EQ(reorders_during([&] { first = conv(x).to_vector(); }), 2);  // the weight, and y for to_vector
  EXPECT_EQ(reorders_during([&] { again = conv(x).to_vector(); }), 1);  // y for to_vector only
  EXPECT_EQ(again, first);
  EXPECT_EQ(first, stateless());

  // An optimizer step writes the weight: the next forward reorders it again and sees the new values.
  Tensor weight = conv.weight();  // a handle on the layer's parameter (shared storage)
  weight.set_grad(Tensor::full(weight.shape(), 1.0f));
  optim::SgdOptions sgd;
  sgd.lr = 0.01;
  optim::SGD(conv.parameters(), sgd).step();
  std::vector<float> stepped;
  EXPECT_EQ(reorders_during([&] { stepped = conv(x).to_vector(); }), 2);
  EXPECT_NE(stepped, first);
  EXPECT_EQ(stepped, stateless());

  weight.fill_(0.25f);
  std::vector<float> filled;
  EXPECT_EQ(reorders_during([&] { filled = conv(x).to_vector(); }), 2);
  EXPECT_EQ(filled, stateless());
}
