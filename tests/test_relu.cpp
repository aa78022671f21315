// ReLU and the element-wise helpers it is built on (sugar/ops/eltwise.hpp).
#include <gtest/gtest.h>

#include <cmath>

#include "sugar/autograd.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/eltwise.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/random.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// Values uniform in +-[0.1, 1]: no element within 0.1 of ReLU's kink, so a finite-difference step
// of 1e-2 never crosses it.
Tensor away_from_zero(const memory::desc& layout, uint64_t seed) {
  const Shape shape = layout.dims();
  Tensor plain = Tensor::zeros(shape);
  RandomStream rng(seed, "relu-test");
  float* p = plain.data<float>();
  for (int64_t i = 0; i < plain.numel(); ++i) {
    const float u = rng.uniform(i);
    const float magnitude = 0.1f + 0.9f * rng.uniform(i + plain.numel());
    p[i] = u < 0.5f ? -magnitude : magnitude;
  }
  Tensor out = plain.to_desc(layout);
  if (out.same(plain)) out = plain.clone();
  out.set_requires_grad(true);
  return out;
}

// nChw16c with 5 channels: lanes 5..15 of each block are padding.
const Shape kOddShape = {3, 5, 7, 7};

}  // namespace

TEST(Relu, ForwardKeepsPositivesAndZeroesTheRest) {
  Tensor x = Tensor::from_vector({6}, {-2.f, -0.5f, -0.f, 0.f, 0.25f, 3.f});
  EXPECT_EQ(ops::relu(x).to_vector(), (std::vector<float>{0, 0, 0, 0, 0.25f, 3.f}));
}

TEST(Relu, BackwardIsOneAboveZeroAndZeroAtOrBelowZero) {
  Tensor x = Tensor::from_vector({5}, {-1.f, -0.1f, 0.f, 0.2f, 2.f});
  x.set_requires_grad(true);
  Tensor y = ops::relu(x);
  autograd::backward(y, Tensor::from_vector({5}, {10, 20, 30, 40, 50}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0, 0, 40, 50}));
}

TEST(Relu, GradientMatchesFiniteDifferencesOnPlainLayout) {
  Tensor x = away_from_zero(plain_desc(kOddShape), 11);
  const auto op = [](const std::vector<Tensor>& in) { return ops::relu(in[0]); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}

TEST(Relu, GradientMatchesFiniteDifferencesOnBlockedLayoutAndKeepsPaddingZero) {
  Tensor x = away_from_zero(testkit::blocked16(kOddShape), 12);
  Tensor y = ops::relu(x);
  EXPECT_EQ(y.desc(), x.desc()) << "relu must keep the blocked layout";
  EXPECT_TRUE(testkit::padding_is_zero(y));
  const std::vector<float> in = x.to_vector(), out = y.to_vector();
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], std::max(in[i], 0.f)) << "element " << i;
  autograd::clear_tape();

  const auto op = [](const std::vector<Tensor>& v) { return ops::relu(v[0]); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}

TEST(Relu, ResidualFanOutAccumulatesBothPaths) {
  // y = relu(x) + x: dy/dx = 2 where x > 0, 1 where x < 0. Smaller than kOddShape to keep it quick.
  Tensor x = away_from_zero(testkit::blocked16({2, 5, 3, 3}), 13);
  const auto op = [](const std::vector<Tensor>& in) { return ops::add(ops::relu(in[0]), in[0]); };
  EXPECT_EQ(testkit::check_gradients(op, {x}), 0);
}

TEST(Relu, WorksOnBf16) {
  Tensor x = Tensor::from_vector({4}, {-1.5f, -0.25f, 0.5f, 2.f}, DType::bf16);
  Tensor y = ops::relu(x);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{0, 0, 0.5f, 2.f}));
}

TEST(Relu, NoGradModeRecordsNothing) {
  Tensor x = away_from_zero(plain_desc({4}), 14);
  autograd::NoGradGuard no_grad;
  Tensor y = ops::relu(x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(autograd::tape_size(), 0u);
}

// ---- eltwise helpers ----------------------------------------------------------------------------

TEST(Eltwise, LogisticForwardAndBackwardOnBlockedLayout) {
  // sigmoid(0) = 0.5, so a kernel that ran over the padding lanes without care would leave 0.5 there.
  Tensor x = testkit::random_tensor_in(testkit::blocked16(kOddShape), 21, -3, 3);
  Tensor y = ops::eltwise_forward(dnnl::algorithm::eltwise_logistic, 0.f, 0.f, x);
  EXPECT_EQ(y.desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(y));
  Tensor dy = testkit::random_tensor(kOddShape, 22);  // plain: reordered by the helper
  Tensor dx_src = ops::eltwise_backward(dnnl::algorithm::eltwise_logistic, 0.f, 0.f, x, dy);
  Tensor y_dst = ops::eltwise_forward(dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f, x);
  Tensor dx_dst = ops::eltwise_backward(dnnl::algorithm::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f, y_dst, dy);
  EXPECT_EQ(dx_src.desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(dx_src));
  const std::vector<float> xs = x.to_vector(), ys = y.to_vector(), dys = dy.to_vector();
  const std::vector<float> a = dx_src.to_vector(), b = dx_dst.to_vector();
  for (size_t i = 0; i < xs.size(); ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(xs[i])));
    ASSERT_NEAR(ys[i], s, 1e-6) << "element " << i;
    ASSERT_NEAR(a[i], dys[i] * s * (1 - s), 1e-6) << "element " << i;
    ASSERT_NEAR(b[i], dys[i] * s * (1 - s), 1e-6) << "element " << i;
  }
}

TEST(Eltwise, ForwardIntoMayRunInPlace) {
  Tensor x = Tensor::from_vector({4}, {-1.f, 2.f, -3.f, 4.f});
  ops::eltwise_forward_into(dnnl::algorithm::eltwise_relu, 0.5f, 0.f, x, x);  // leaky slope 0.5
  EXPECT_EQ(x.to_vector(), (std::vector<float>{-0.5f, 2.f, -1.5f, 4.f}));
}

TEST(Eltwise, BackwardUsesDstOnlyForUseDstAlgorithms) {
  EXPECT_TRUE(ops::eltwise_backward_uses_dst(dnnl::algorithm::eltwise_relu_use_dst_for_bwd));
  EXPECT_TRUE(ops::eltwise_backward_uses_dst(dnnl::algorithm::eltwise_elu_use_dst_for_bwd));
  EXPECT_FALSE(ops::eltwise_backward_uses_dst(dnnl::algorithm::eltwise_relu));
  EXPECT_FALSE(ops::eltwise_backward_uses_dst(dnnl::algorithm::eltwise_gelu_erf));
}

TEST(Eltwise, ShapeMismatchInBackwardIsAnError) {
  EXPECT_THROW(ops::eltwise_backward(dnnl::algorithm::eltwise_relu, 0.f, 0.f, Tensor::zeros({2, 3}),
                                     Tensor::zeros({3, 2})),
               Error);
}

TEST(Eltwise, MapElementsRezeroesPaddingWhenFOfZeroIsNotZero) {
  Tensor x = testkit::random_tensor_in(testkit::blocked16(kOddShape), 23);
  Tensor y = ops::map_elements(x, [](float v) { return 2.f * v + 1.f; });
  EXPECT_EQ(y.desc(), x.desc());
  EXPECT_TRUE(testkit::padding_is_zero(y));
  const std::vector<float> xs = x.to_vector(), ys = y.to_vector();
  for (size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(ys[i], 2.f * xs[i] + 1.f) << "element " << i;
}

TEST(Eltwise, MapElementsNegativeZeroInPaddingIsRezeroed) {
  // 0 * -3 = -0.0: numerically zero, but not the +0 bits that padding lanes must hold.
  Tensor x = testkit::random_tensor_in(testkit::blocked16(kOddShape), 24);
  ops::map_elements_(x, [](float v) { return v * -3.f; });
  EXPECT_TRUE(testkit::padding_is_zero(x));
}

TEST(Eltwise, ZipElementsReordersTheSecondOperandToTheFirstsLayout) {
  Tensor a = testkit::random_tensor_in(testkit::blocked16(kOddShape), 25);
  Tensor b = testkit::random_tensor(kOddShape, 26);
  Tensor y = ops::zip_elements(a, b, [](float u, float v) { return u * v - 1.f; });
  EXPECT_EQ(y.desc(), a.desc());
  EXPECT_TRUE(testkit::padding_is_zero(y));
  const std::vector<float> as = a.to_vector(), bs = b.to_vector(), ys = y.to_vector();
  for (size_t i = 0; i < as.size(); ++i) ASSERT_EQ(ys[i], as[i] * bs[i] - 1.f) << "element " << i;
  EXPECT_THROW(ops::zip_elements(a, Tensor::zeros({3, 5, 7, 6}), [](float u, float) { return u; }), Error);
}

TEST(Eltwise, MapElementsOnBf16ComputesInF32AndKeepsBf16) {
  Tensor x = Tensor::from_vector({3}, {1.f, -2.f, 0.5f}, DType::bf16);
  Tensor y = ops::map_elements(x, [](float v) { return v * v; });
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{1.f, 4.f, 0.25f}));
  ops::map_elements_(x, [](float v) { return -v; });
  EXPECT_EQ(x.to_vector(), (std::vector<float>{-1.f, 2.f, -0.5f}));
}

TEST(Eltwise, ZeroPaddingClearsExactlyThePaddingLanes) {
  // Two blocked dims (a and b both padded to 16) exercise the disjoint padding regions.
  const std::vector<memory::desc> layouts = {
      testkit::blocked16(kOddShape),
      memory::desc({3, 5, 2, 2}, memory::data_type::f32, memory::format_tag::ABcd16a16b),
      memory::desc({3, 5, 2, 2}, memory::data_type::f32, memory::format_tag::aBcd8b),
  };
  for (const memory::desc& layout : layouts) {
    Tensor t = Tensor::from_desc(layout);
    std::fill_n(t.data<float>(), t.padded_numel(), 7.f);  // junk in every lane, padding included
    ASSERT_FALSE(testkit::padding_is_zero(t)) << describe(layout);
    ops::zero_padding_(t);
    EXPECT_TRUE(testkit::padding_is_zero(t)) << describe(layout);
    for (float v : t.to_vector()) ASSERT_EQ(v, 7.f) << "a logical element was cleared in " << describe(layout);
  }
}
