// ops::channel_scale (layer scale), ops::sample_scale and nn::DropPath (stochastic depth): values
// against their definitions in every layout, gradients against finite differences, and the draws of
// stochastic depth (rate, scale of the kept samples, reproducibility, fresh per call, the same under a
// split of the batch as under one process).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/drop_path.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/ops/scale.hpp"
#include "support/gradcheck.hpp"

namespace {
using namespace sugar;

std::vector<memory::desc> layouts(const Shape& shape) {
  return {plain_desc(shape), testkit::blocked16(shape),
          memory::desc(shape, memory::data_type::f32, memory::format_tag::nhwc)};
}

TEST(ChannelScale, MultipliesEachChannelByItsFactorInEveryLayout) {
  const Shape shape{2, 20, 3, 3};  // 20 channels: padded to 32 when blocked
  const Tensor gamma = testkit::random_tensor({20, 1, 1}, 3, 0.5f, 2.0f);  // torchvision's [C, 1, 1]
  const std::vector<float> g = gamma.to_vector();
  for (const memory::desc& layout : layouts(shape)) {
    const Tensor x = testkit::random_tensor_in(layout, 4);
    const Tensor y = ops::channel_scale(x, gamma);
    EXPECT_EQ(y.desc(), x.desc());
    EXPECT_TRUE(testkit::padding_is_zero(y));
    const std::vector<float> xs = x.to_vector(), ys = y.to_vector();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(ys[i], xs[i] * g[(i / 9) % 20]) << i;
  }
}

TEST(ChannelScale, GradientsMatchFiniteDifferencesInEveryLayout) {
  const Shape shape{2, 5, 3, 3};
  for (const memory::desc& layout : layouts(shape)) {
    const Tensor x = testkit::random_tensor_in(layout, 5, -1.f, 1.f, true);
    const Tensor gamma = testkit::random_tensor({5, 1, 1}, 6, 0.5f, 1.5f, true);
    EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::channel_scale(in[0], in[1]); },
                                       {x, gamma}),
              0);
  }
  EXPECT_THROW(ops::channel_scale(Tensor::zeros(shape), Tensor::zeros({4})), Error);
  EXPECT_THROW(ops::channel_scale(Tensor::zeros(shape), Tensor::zeros({3, 5, 1, 1})), Error);  // batch of 2
}

// Squeeze-and-excitation's gate: a factor per sample and channel, itself computed (so its gradient
// flows back into the network that made it), in any layout; a batch of one included (a blocked
// [1, C, 1, 1] gate, which a review found crashing).
TEST(ChannelScale, PerSampleGatesAndTheirGradients) {
  for (const Shape& shape : {Shape{2, 5, 3, 3}, Shape{1, 5, 3, 3}}) {
  const Shape gate_shape{shape[0], 5, 1, 1};
  for (const memory::desc& layout : layouts(shape)) {
    const Tensor x = testkit::random_tensor_in(layout, 8, -1.f, 1.f, true);
    const Tensor gate = testkit::random_tensor_in(layouts(gate_shape)[1], 9, 0.2f, 1.0f, true);
    const std::vector<float> xs = x.to_vector(), ys = ops::channel_scale(x, gate).to_vector(), gs = gate.to_vector();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(ys[i], xs[i] * gs[i / 9]) << i;
    EXPECT_EQ(testkit::check_gradients([](const std::vector<Tensor>& in) { return ops::channel_scale(in[0], in[1]); },
                                       {x, gate}),
              0);
  }
  }
}

TEST(SampleScale, MultipliesEachSampleAndItsGradient) {
  const Shape shape{3, 4, 2, 2};
  for (const memory::desc& layout : layouts(shape)) {
    const Tensor x = testkit::random_tensor_in(layout, 7, -1.f, 1.f, true);
    const std::vector<float> factors{0.0f, 2.0f, 0.5f};
    const Tensor y = ops::sample_scale(x, factors);
    const std::vector<float> xs = x.to_vector(), ys = y.to_vector();
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(ys[i], xs[i] * factors[i / 16]) << i;
    EXPECT_EQ(testkit::check_gradients([&](const std::vector<Tensor>& in) { return ops::sample_scale(in[0], factors); },
                                       {x}),
              0);
  }
  EXPECT_THROW(ops::sample_scale(Tensor::zeros(shape), {1.0f, 1.0f}), Error);
}

// The per-sample factor of a DropPath call: y / x of the sample's first value (x is 1 everywhere).
std::vector<float> factors_of(nn::DropPath& drop, int64_t batch) {
  const Tensor y = drop(Tensor::full({batch, 2, 1, 1}, 1.0f));
  const std::vector<float> ys = y.to_vector();
  std::vector<float> out;
  for (int64_t n = 0; n < batch; ++n) out.push_back(ys[static_cast<size_t>(2 * n)]);
  return out;
}

TEST(DropPath, DropsWholeSamplesAtItsRateAndScalesTheRestReproducibly) {
  nn::DropPath drop(0.25f);
  nn::initialize(drop, 11);
  drop.train(true);
  const int64_t batch = 4096;
  const std::vector<float> first = factors_of(drop, batch);
  int64_t dropped = 0;
  for (float f : first) {
    EXPECT_TRUE(f == 0.0f || f == 1.0f / 0.75f) << f;
    dropped += f == 0.0f;
  }
  // Binomial(4096, 0.25): standard deviation 27.7; 5 of them either side.
  EXPECT_NEAR(static_cast<double>(dropped), 1024.0, 140.0);
  const std::vector<float> second = factors_of(drop, batch);
  EXPECT_NE(first, second) << "each call draws afresh";
  EXPECT_EQ(drop.calls(), 2u);

  nn::DropPath again(0.25f);
  nn::initialize(again, 11);
  again.train(true);
  EXPECT_EQ(factors_of(again, batch), first) << "the same seed and call draw the same samples";

  // Two ranks with halves of the batch (the second at sample offset 2048) drop what one process drops.
  nn::DropPath half(0.25f);
  nn::initialize(half, 11);
  half.train(true);
  std::vector<float> split = factors_of(half, batch / 2);
  half.set_calls(0);
  {
    nn::SampleOffsetGuard offset(batch / 2);
    const std::vector<float> second_half = factors_of(half, batch / 2);
    split.insert(split.end(), second_half.begin(), second_half.end());
  }
  EXPECT_EQ(split, first);

  drop.train(false);
  const Tensor x = testkit::random_tensor({3, 2, 2, 2}, 9);
  EXPECT_TRUE(drop(x).same(x)) << "evaluation is the identity";
  EXPECT_THROW(nn::DropPath(1.0f), Error);
  EXPECT_THROW(nn::DropPath(-0.1f), Error);
}

}  // namespace
