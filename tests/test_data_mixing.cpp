// Mixup and CutMix (data/mixing.hpp): the Beta draws against closed-form distributions, the pairs,
// the mixed pixels against hand formulas, timm's box and corrected weight, and the loader's parts
// under data parallelism (2 or 3 ranks mix exactly what one process mixes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

#include "sugar/data/dataset.hpp"
#include "sugar/data/loader.hpp"
#include "sugar/data/mixing.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::data;

namespace {

// Kolmogorov-Smirnov distance between n draws of Beta(alpha, alpha) and a closed-form CDF.
double ks_distance(double alpha, const std::function<double(double)>& cdf, int n) {
  const RandomStream stream(11, "beta-test");
  std::vector<double> draws(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) draws[static_cast<size_t>(i)] = beta_symmetric(stream, 512 * static_cast<uint64_t>(i), alpha);
  std::sort(draws.begin(), draws.end());
  double distance = 0;
  for (int i = 0; i < n; ++i) {
    const double f = cdf(draws[static_cast<size_t>(i)]);
    distance = std::max({distance, std::abs(f - static_cast<double>(i) / n), std::abs(f - static_cast<double>(i + 1) / n)});
  }
  return distance;
}

// The KS critical value at the 0.1% level: 1.95 / sqrt(n). The draws are fixed (counter-based), so the
// test is deterministic; the bound says a correct sampler passes for all but 1 in 1000 seeds.
double ks_bound(int n) { return 1.95 / std::sqrt(static_cast<double>(n)); }

// n images with distinct-looking pixels; label i % 10.
std::shared_ptr<InMemoryDataset> counting_images(int64_t n, ImageShape shape) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.numel()));
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>((k * 7 + k / 13) % 251);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % 10);
  return std::make_shared<InMemoryDataset>("counting", shape, 10, std::vector<std::string>{}, std::move(pixels),
                                           std::move(labels));
}

}  // namespace

TEST(DataMixing, BetaDrawsFollowTheClosedFormDistributions) {
  constexpr int n = 4000;
  // Beta(1, 1) is uniform; Beta(1/2, 1/2) the arcsine law; Beta(2, 2) has CDF 3x^2 - 2x^3.
  EXPECT_LT(ks_distance(1.0, [](double x) { return x; }, n), ks_bound(n));
  EXPECT_LT(ks_distance(0.5, [](double x) { return 2.0 / std::numbers::pi * std::asin(std::sqrt(x)); }, n), ks_bound(n));
  EXPECT_LT(ks_distance(2.0, [](double x) { return 3 * x * x - 2 * x * x * x; }, n), ks_bound(n));
  // A wrong law is caught: Beta(2, 2) is 0.096 from uniform at x = (3 - sqrt(3)) / 6.
  EXPECT_GT(ks_distance(2.0, [](double x) { return x; }, n), 2.5 * ks_bound(n));
}

TEST(DataMixing, SmallAlphasHaveBetasMeanAndVariance) {
  // timm's recipes use alpha 0.1-0.8 (mixup) and 1.0 (cutmix); Var Beta(a, a) = 1 / (4 (2a + 1)).
  for (const double alpha : {0.1, 0.2, 0.8}) {
    const RandomStream stream(5, "beta-moments");
    constexpr int n = 20000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double x = beta_symmetric(stream, 512 * static_cast<uint64_t>(i), alpha);
      ASSERT_TRUE(x >= 0 && x <= 1) << x;
      sum += x;
      sum_sq += x * x;
    }
    const double mean = sum / n, variance = sum_sq / n - mean * mean;
    const double expected_variance = 1.0 / (4 * (2 * alpha + 1));
    // Standard error of the mean sqrt(var / n) <= 0.0036; of the variance below 0.002 here.
    EXPECT_NEAR(mean, 0.5, 0.015) << "alpha " << alpha;
    EXPECT_NEAR(variance, expected_variance, 0.01) << "alpha " << alpha;
  }
  EXPECT_THROW(beta_symmetric(RandomStream(1, "x"), 0, 0.0), Error);
}

TEST(DataMixing, PartnersAreNeighboursAndAnOddLastSampleIsItsOwn) {
  EXPECT_EQ(mix_partner(0, 6), 1);
  EXPECT_EQ(mix_partner(1, 6), 0);
  EXPECT_EQ(mix_partner(4, 6), 5);
  EXPECT_EQ(mix_partner(5, 6), 4);
  EXPECT_EQ(mix_partner(4, 5), 4);
}

TEST(DataMixing, MixupBlendsEachPairWithLamAndCutmixSwapsTheBox) {
  const ImageShape shape{2, 4, 5};
  const int64_t size = shape.numel();
  std::vector<float> original(static_cast<size_t>(3 * size));
  for (size_t k = 0; k < original.size(); ++k) original[k] = static_cast<float>(k % size) + 100.0f * static_cast<float>(k / size);
  const std::vector<int32_t> labels{7, 2, 9};

  MixDraw mixup;
  mixup.kind = MixKind::mixup;
  mixup.own_weight = 0.75;
  std::vector<float> images = original;
  const auto partners = mix_part(mixup, shape, 0, 3, images.data(), labels);
  EXPECT_EQ(partners, (std::vector<int32_t>{2, 7, 9}));
  for (int64_t k = 0; k < size; ++k) {
    EXPECT_FLOAT_EQ(images[k], 0.75f * original[k] + 0.25f * original[size + k]);
    EXPECT_FLOAT_EQ(images[size + k], 0.75f * original[size + k] + 0.25f * original[k]);
    EXPECT_EQ(images[2 * size + k], original[2 * size + k]);  // the odd last sample stays itself
  }

  MixDraw cutmix;
  cutmix.kind = MixKind::cutmix;
  cutmix.box_y0 = 1, cutmix.box_y1 = 3, cutmix.box_x0 = 2, cutmix.box_x1 = 5;
  images = original;
  mix_part(cutmix, shape, 0, 3, images.data(), labels);
  for (int c = 0; c < shape.channels; ++c)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x) {
        const int64_t k = (int64_t{c} * shape.height + y) * shape.width + x;
        const bool inside = y >= 1 && y < 3 && x >= 2 && x < 5;
        EXPECT_EQ(images[k], original[(inside ? size : 0) + k]) << c << "," << y << "," << x;
        EXPECT_EQ(images[size + k], original[(inside ? 0 : size) + k]);
      }
  // A part whose pair is cut by the part's border is a programming error, said so.
  EXPECT_THROW(mix_part(mixup, shape, 1, 3, images.data(), {1, 2}), Error);
}

TEST(DataMixing, CutmixBoxIsTimmsAndItsWeightIsTheShareLeftOwn) {
  const ImageShape shape{3, 32, 32};
  MixOptions options;
  options.cutmix_alpha = 1.0;
  int clipped = 0;
  for (int64_t b = 0; b < 400; ++b) {
    const MixDraw draw = draw_mix(options, shape, 3, 0, b);
    ASSERT_EQ(draw.kind, MixKind::cutmix);
    const int h = draw.box_y1 - draw.box_y0, w = draw.box_x1 - draw.box_x0;
    ASSERT_TRUE(draw.box_y0 >= 0 && draw.box_y1 <= 32 && h >= 0 && draw.box_x0 >= 0 && draw.box_x1 <= 32 && w >= 0);
    EXPECT_DOUBLE_EQ(draw.own_weight, 1.0 - h * w / 1024.0);
    // timm's cut for the drawn lam: int(32 * sqrt(1 - lam)), the box at most 2 * (cut // 2) per side.
    const RandomStream stream(3, "mix/epoch0");
    const double lam = beta_symmetric(stream, kMixCountersPerBatch * static_cast<uint64_t>(b) + 8, 1.0);
    const int cut = static_cast<int>(32 * std::sqrt(1.0 - lam));
    EXPECT_LE(h, 2 * (cut / 2));
    EXPECT_LE(w, 2 * (cut / 2));
    if (h < 2 * (cut / 2) || w < 2 * (cut / 2)) ++clipped;
    else EXPECT_NEAR(draw.own_weight, 1.0 - 4.0 * (cut / 2) * (cut / 2) / 1024.0, 1e-12);
  }
  EXPECT_GT(clipped, 40);  // centres near the border clip the box: the weight is then corrected
}

TEST(DataMixing, ProbabilityAndSwitchDecideTheKindPerBatch) {
  const ImageShape shape{1, 8, 8};
  MixOptions options;
  options.mixup_alpha = 0.8;
  options.cutmix_alpha = 1.0;
  options.probability = 0.6;
  options.switch_probability = 0.25;
  int none = 0, cutmix = 0, mixup = 0;
  constexpr int n = 4000;
  for (int64_t b = 0; b < n; ++b) {
    const MixDraw draw = draw_mix(options, shape, 9, 2, b);
    none += draw.kind == MixKind::none;
    cutmix += draw.kind == MixKind::cutmix;
    mixup += draw.kind == MixKind::mixup;
    if (draw.kind == MixKind::none) EXPECT_EQ(draw.own_weight, 1.0);
  }
  // Expected 1600 / 600 / 1800; binomial standard deviations about 31, 23, 31.
  EXPECT_NEAR(none, 0.4 * n, 130);
  EXPECT_NEAR(cutmix, 0.6 * 0.25 * n, 100);
  EXPECT_NEAR(mixup, 0.6 * 0.75 * n, 130);
  options.probability = 0;
  EXPECT_FALSE(options.enabled());  // nothing is mixed: no pairs, no aligned parts, the plain loss
  EXPECT_EQ(draw_mix(options, shape, 9, 2, 0).kind, MixKind::none);
  // The same (seed, epoch, batch) draws the same; another epoch draws anew.
  options.probability = 1;
  EXPECT_EQ(draw_mix(options, shape, 9, 2, 5).own_weight, draw_mix(options, shape, 9, 2, 5).own_weight);
  EXPECT_NE(draw_mix(options, shape, 9, 2, 5).own_weight, draw_mix(options, shape, 9, 3, 5).own_weight);
}

// What 2 or 3 ranks load, concatenated, is what one process loads: the same images mixed the same
// way, the same partner labels and weight, whatever the batch's size (a full batch of 14, whose
// halves of 7 would cut a pair, and a last batch of 9).
TEST(DataMixing, RanksMixExactlyThePairsOneProcessMixes) {
  const ImageShape shape{3, 6, 6};
  const auto dataset = counting_images(37, shape);
  LoaderOptions base;
  base.batch_size = 14;
  base.seed = 21;
  base.workers = 0;
  base.mix.mixup_alpha = 0.4;
  base.mix.cutmix_alpha = 1.0;
  const DataLoader whole(dataset, ImageTransform(), base);
  const auto order = whole.epoch_order(1);
  int mixed_batches = 0;
  for (int64_t b = 0; b < whole.batches_per_epoch(); ++b) {
    const Batch one = whole.make_batch(order, 1, b);
    mixed_batches += one.mixed();
    for (const int parts : {2, 3}) {
      std::vector<float> images;
      std::vector<int32_t> labels, partners;
      for (int part = 0; part < parts; ++part) {
        LoaderOptions options = base;
        options.shard_index = part;
        options.shard_count = parts;
        const DataLoader shard(dataset, ImageTransform(), options);
        const Batch piece = shard.make_batch(order, 1, b);
        ASSERT_EQ(piece.shard_offset % 2, 0) << "a part starts inside a pair";
        ASSERT_GT(piece.size(), 0);
        EXPECT_EQ(piece.own_weight, one.own_weight);
        const std::vector<float> values = piece.images.to_vector();
        images.insert(images.end(), values.begin(), values.end());
        labels.insert(labels.end(), piece.labels.begin(), piece.labels.end());
        partners.insert(partners.end(), piece.partner_labels.begin(), piece.partner_labels.end());
      }
      EXPECT_EQ(images, one.images.to_vector()) << "batch " << b << ", " << parts << " parts";
      EXPECT_EQ(labels, one.labels);
      EXPECT_EQ(partners, one.partner_labels);
    }
  }
  EXPECT_EQ(mixed_batches, whole.batches_per_epoch());
  // A batch of 2 has one pair: 2 parts cannot both have samples, and the trainer skips it.
  LoaderOptions two_parts = base;
  two_parts.shard_count = 2;
  const DataLoader shard(dataset, ImageTransform(), two_parts);
  EXPECT_FALSE(shard.every_part_has_samples(2));
  EXPECT_TRUE(shard.every_part_has_samples(3));
  two_parts.mix = MixOptions{};
  EXPECT_TRUE(DataLoader(dataset, ImageTransform(), two_parts).every_part_has_samples(2));
}
