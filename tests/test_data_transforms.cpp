// Transforms against hand-computed pixels, the per-sample random draws, limits and val_split, the
// normalisation constants and load_data on a synthetic CIFAR-10 folder.
#include <gtest/gtest.h>

#include <tuple>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>

#include "sugar/data/dataset.hpp"
#include "sugar/data/normalization.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/data/sampling.hpp"
#include "sugar/data/transforms.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::data;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

// n images of shape (C, H, W) whose pixel k of image i is (i * 17 + k * 5) % 256; label i % classes.
std::shared_ptr<InMemoryDataset> synthetic(int64_t n, ImageShape shape, int classes = 10) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.numel()));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < shape.numel(); ++k) pixels[static_cast<size_t>(i * shape.numel() + k)] = static_cast<uint8_t>((i * 17 + k * 5) % 256);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % classes);
  return std::make_shared<InMemoryDataset>("synthetic", shape, classes, std::vector<std::string>{}, std::move(pixels),
                                           std::move(labels));
}

}  // namespace

// ---- the individual steps ------------------------------------------------------------------------

TEST(DataTransforms, CropWithZeroPaddingShiftsAndFillsZeros) {
  const ImageShape shape{1, 2, 3};
  const std::vector<float> in{1, 2, 3, 4, 5, 6};
  std::vector<float> out(6, -1);
  crop_with_zero_padding(in.data(), shape, 0, 0, 0, out.data());
  EXPECT_EQ(out, in);  // padding 0 is the identity
  crop_with_zero_padding(in.data(), shape, 1, 0, 0, out.data());
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 1, 2}));  // offset (0, 0): shifted down-right by 1
  crop_with_zero_padding(in.data(), shape, 1, 2, 2, out.data());
  EXPECT_EQ(out, (std::vector<float>{5, 6, 0, 0, 0, 0}));  // offset (2, 2): shifted up-left by 1
  crop_with_zero_padding(in.data(), shape, 1, 1, 1, out.data());
  EXPECT_EQ(out, in);  // the centre crop
  crop_with_zero_padding(in.data(), shape, 2, 2, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{2, 3, 0, 5, 6, 0}));  // only shifted left by 1
}

TEST(DataTransforms, HorizontalFlipMirrorsEveryRowAndTwiceIsIdentity) {
  const ImageShape shape{2, 2, 3};
  const std::vector<float> in{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<float> image = in;
  horizontal_flip(image.data(), shape);
  EXPECT_EQ(image, (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}));
  horizontal_flip(image.data(), shape);
  EXPECT_EQ(image, in);
}

TEST(DataTransforms, NormalizeUsesPerChannelOrBroadcastStatistics) {
  const ImageShape shape{2, 1, 2};
  std::vector<float> image{0.5f, 1.0f, 0.25f, 0.0f};
  normalize(image.data(), shape, {{0.5f, 0.25f}, {0.25f, 0.5f}});
  EXPECT_FLOAT_EQ(image[0], 0.0f);
  EXPECT_FLOAT_EQ(image[1], 2.0f);
  EXPECT_FLOAT_EQ(image[2], 0.0f);
  EXPECT_FLOAT_EQ(image[3], -0.5f);
  std::vector<float> single{0.2860f, 1.0f};
  normalize(single.data(), {1, 1, 2}, default_normalization("fashion_mnist"));
  EXPECT_NEAR(single[0], 0.0f, 1e-6);
  EXPECT_NEAR(single[1], (1.0 - 0.2860) / 0.3530, 1e-5);

  EXPECT_CONTAINS(error_of([] { check_normalization({{0.1f, 0.2f}, {0.1f, 0.2f}}, 3, "ctx"); }),
                  "ctx: normalisation has 2 values but the images have 3 channels");
  EXPECT_CONTAINS(error_of([] { check_normalization({{0.1f}, {0.0f}}, 1, "ctx"); }), "has mean 0.1 and std 0");
}

TEST(DataTransforms, CutoutZeroesASquareClippedAtTheBorders) {
  const ImageShape shape{1, 5, 5};
  std::vector<float> image(25, 1.0f);
  cutout(image.data(), shape, 0, 0, 4);  // rows/cols [-2, 2) clipped to [0, 2)
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(image[y * 5 + x], (y < 2 && x < 2) ? 0.0f : 1.0f) << y << "," << x;
  std::fill(image.begin(), image.end(), 1.0f);
  cutout(image.data(), shape, 2, 3, 3);  // odd size: rows [1, 4), cols [2, 5)
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(image[y * 5 + x], (y >= 1 && y < 4 && x >= 2) ? 0.0f : 1.0f) << y << "," << x;
}

// ---- random draws --------------------------------------------------------------------------------

// Random erasing against torchvision's RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3)): over many
// samples, the erased share is p; each rectangle lies strictly inside the image, its area is within the
// scale range (up to the rounding of h and w) and its aspect ratio within the ratio range (likewise);
// the draws repeat for the same seed, epoch and sample.
TEST(DataTransforms, RandomErasingDrawsTorchvisionsRectanglesAtItsRate) {
  AugmentOptions options;
  options.random_erasing = 0.4f;
  const ImageShape shape{3, 32, 32};
  int erased = 0;
  const int samples = 4000;
  for (int i = 0; i < samples; ++i) {
    const AugmentDraw d = draw_augment(options, shape, 5, 1, i);
    if (d.erase_h == 0) continue;
    ++erased;
    ASSERT_GT(d.erase_w, 0);
    EXPECT_LT(d.erase_h, 32);
    EXPECT_LT(d.erase_w, 32);
    EXPECT_LE(d.erase_y + d.erase_h, 32);
    EXPECT_LE(d.erase_x + d.erase_w, 32);
    EXPECT_GE(d.erase_y, 0);
    EXPECT_GE(d.erase_x, 0);
    // h and w are rounded square roots of area * aspect and area / aspect: each off by at most 0.5.
    const double h = d.erase_h, w = d.erase_w;
    EXPECT_LE((h - 0.5) * (w - 0.5), 0.33 * 1024) << h << "x" << w;
    EXPECT_GE((h + 0.5) * (w + 0.5), 0.02 * 1024) << h << "x" << w;
    EXPECT_LE((h - 0.5) / (w + 0.5), 3.3) << h << "x" << w;
    EXPECT_GE((h + 0.5) / (w - 0.5), 0.3) << h << "x" << w;
    const AugmentDraw again = draw_augment(options, shape, 5, 1, i);
    EXPECT_EQ(std::tie(again.erase_y, again.erase_x, again.erase_h, again.erase_w),
              std::tie(d.erase_y, d.erase_x, d.erase_h, d.erase_w));
  }
  // Binomial(4000, 0.4): standard deviation 31; at most 10 tries can all miss only for big areas
  // with extreme aspects, a few percent of the erasing samples at most.
  EXPECT_NEAR(erased, 0.4 * samples, 0.04 * samples);
  EXPECT_LE(erased, 0.4 * samples + 5 * 31);

  // The transform zeroes exactly that rectangle of the normalised image in every channel.
  std::vector<float> image(3 * 4 * 5, 1.0f);
  erase(image.data(), {3, 4, 5}, 1, 2, 2, 3);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x)
        EXPECT_EQ(image[(c * 4 + y) * 5 + x], (y >= 1 && y < 3 && x >= 2) ? 0.0f : 1.0f) << c << "," << y << "," << x;
}

TEST(DataTransforms, DrawsAreDeterministicInRangeAndVaryByEpochAndSample) {
  const AugmentOptions options{.crop_padding = 4, .hflip = true, .cutout = 8};
  const ImageShape shape{3, 32, 32};
  std::set<int> crop_values;
  int flips = 0, differ_by_epoch = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const AugmentDraw d = draw_augment(options, shape, 7, 0, i);
    const AugmentDraw again = draw_augment(options, shape, 7, 0, i);
    ASSERT_EQ(d.crop_y, again.crop_y);
    ASSERT_EQ(d.flip, again.flip);
    ASSERT_EQ(d.cutout_x, again.cutout_x);
    ASSERT_GE(d.crop_y, 0);
    ASSERT_LE(d.crop_y, 8);
    ASSERT_GE(d.crop_x, 0);
    ASSERT_LE(d.crop_x, 8);
    ASSERT_GE(d.cutout_y, 0);
    ASSERT_LT(d.cutout_y, 32);
    ASSERT_LT(d.cutout_x, 32);
    crop_values.insert(d.crop_x);
    flips += d.flip;
    const AugmentDraw other = draw_augment(options, shape, 7, 1, i);
    differ_by_epoch += (other.crop_x != d.crop_x || other.crop_y != d.crop_y || other.flip != d.flip);
  }
  EXPECT_EQ(crop_values.size(), 9u);  // every offset 0..8 occurs
  EXPECT_NEAR(static_cast<double>(flips) / n, 0.5, 0.03);
  EXPECT_GT(differ_by_epoch, n * 8 / 10);
  // The draw is the documented function of RandomStream(seed, "augment/epoch<k>") at 8 * i + slot.
  const RandomStream stream(7, "augment/epoch0");
  const AugmentDraw d5 = draw_augment(options, shape, 7, 0, 5);
  EXPECT_EQ(d5.crop_y, static_cast<int>(((stream.bits(40 + kSlotCropY) >> 32) * 9) >> 32));
  EXPECT_EQ(d5.crop_x, static_cast<int>(((stream.bits(40 + kSlotCropX) >> 32) * 9) >> 32));
  EXPECT_EQ(d5.flip, stream.uniform(40 + kSlotFlip) < 0.5f);
  EXPECT_EQ(d5.cutout_x, static_cast<int>(((stream.bits(40 + kSlotCutoutX) >> 32) * 32) >> 32));
  // Without augmentation nothing is drawn.
  const AugmentDraw none = draw_augment({}, shape, 7, 0, 5);
  EXPECT_EQ(none.crop_y + none.crop_x + none.cutout_y + none.cutout_x + none.flip, 0);
}

TEST(DataTransforms, ImageTransformEqualsTheStepsComposedInOrder) {
  const ImageShape shape{3, 6, 5};
  auto ds = synthetic(40, shape);
  const AugmentOptions options{.crop_padding = 2, .hflip = true, .cutout = 3};
  const Normalization norm{{0.4f, 0.5f, 0.6f}, {0.2f, 0.25f, 0.3f}};
  const ImageTransform transform(options, norm, 11);
  int flipped = 0, shifted = 0;
  for (int64_t i = 0; i < ds->size(); ++i) {
    std::vector<float> got(static_cast<size_t>(shape.numel()));
    transform.apply(*ds, i, 3, got.data());
    const AugmentDraw d = draw_augment(options, shape, 11, 3, i);
    const Sample sample = ds->get(i);
    std::vector<float> expected(sample.image.size());
    crop_with_zero_padding(sample.image.data(), shape, 2, d.crop_y, d.crop_x, expected.data());
    if (d.flip) horizontal_flip(expected.data(), shape);
    normalize(expected.data(), shape, norm);
    cutout(expected.data(), shape, d.cutout_y, d.cutout_x, 3);
    ASSERT_EQ(got, expected) << "sample " << i;
    flipped += d.flip;
    shifted += (d.crop_y != 2 || d.crop_x != 2);
  }
  EXPECT_GT(flipped, 5);  // the comparison covered flipped, unflipped, shifted and centred samples
  EXPECT_LT(flipped, 35);
  EXPECT_GT(shifted, 5);

  // One hand-computed pixel: channel 1, (y, x) = (0, 0) of sample 0 with no augmentation is
  // ((0 * 17 + 30 * 5) % 256 / 255 - 0.5) / 0.25.
  const ImageTransform plain({}, norm, 11);
  std::vector<float> out(static_cast<size_t>(shape.numel()));
  plain.apply(*ds, 0, 0, out.data());
  EXPECT_NEAR(out[30], (150.0 / 255.0 - 0.5) / 0.25, 1e-5);
  // The default transform is pixels / 255.
  ImageTransform().apply(*ds, 4, 0, out.data());
  EXPECT_EQ(out, ds->get(4).image);
}

TEST(DataTransforms, RejectsBadOptions) {
  EXPECT_CONTAINS(error_of([] { ImageTransform({.crop_padding = -1}, {}, 0); }), "crop_padding must be >= 0");
  EXPECT_CONTAINS(error_of([] { ImageTransform({.hflip = true, .hflip_probability = 1.5f}, {}, 0); }),
                  "hflip probability must be in [0, 1]");
  auto ds = synthetic(2, {1, 2, 2});
  const ImageTransform three_channels({}, {{0.1f, 0.2f, 0.3f}, {1, 1, 1}}, 0);
  std::vector<float> out(4);
  EXPECT_CONTAINS(error_of([&] { three_channels.apply(*ds, 0, 0, out.data()); }),
                  "normalisation has 3 channels but the images have 1");
  EXPECT_CONTAINS(error_of([&] { ds->get(2); }), "synthetic: sample index 2 is out of range for a dataset of 2 samples");
}

// ---- shuffling -----------------------------------------------------------------------------------

TEST(DataSampling, ShuffledOrderIsADeterministicPermutationPerEpochAndSeed) {
  const auto a = shuffled_order(1000, 3, 0);
  EXPECT_EQ(a, shuffled_order(1000, 3, 0));
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(a, identity);
  EXPECT_NE(a, shuffled_order(1000, 3, 1));
  EXPECT_NE(a, shuffled_order(1000, 4, 0));
  // Fisher-Yates: the first swap exchanges element 999 with random_below(stream, 999, 1000).
  const RandomStream stream(3, "shuffle/epoch0");
  std::vector<int64_t> manual = identity;
  for (int64_t i = 999; i > 0; --i) std::swap(manual[static_cast<size_t>(i)], manual[random_below(stream, i, i + 1)]);
  EXPECT_EQ(a, manual);
  // Every element lands at position 0 about equally often over many seeds (uniformity smoke check).
  std::vector<int> first(5, 0);
  for (uint64_t seed = 0; seed < 5000; ++seed) ++first[static_cast<size_t>(shuffled_order(5, seed, 0)[0])];
  for (int count : first) EXPECT_NEAR(count, 1000, 120);
  EXPECT_TRUE(shuffled_order(0, 1, 0).empty());
  EXPECT_EQ(shuffled_order(1, 1, 0), std::vector<int64_t>{0});
}

// ---- limits and validation split -----------------------------------------------------------------

TEST(DataSplits, PrefixLimitAndValidationTail) {
  std::shared_ptr<const Dataset> ds = synthetic(50, {1, 2, 2});
  auto limited = take_prefix(ds, 20);
  ASSERT_EQ(limited->size(), 20);
  EXPECT_EQ(limited->pixels(7), ds->pixels(7));
  EXPECT_EQ(take_prefix(ds, 0)->size(), 50);
  EXPECT_EQ(take_prefix(ds, 500)->size(), 50);
  EXPECT_CONTAINS(error_of([&] { take_prefix(ds, -1); }), "limit must be >= 0");

  EXPECT_EQ(validation_count(0.1, 50), 5);
  EXPECT_EQ(validation_count(0.01, 50), 1);  // at least one
  EXPECT_EQ(validation_count(7, 50), 7);
  EXPECT_EQ(validation_count(0, 50), 0);
  EXPECT_CONTAINS(error_of([] { validation_count(1.5, 50); }), "neither a fraction in (0, 1) nor a whole number");
  EXPECT_CONTAINS(error_of([] { validation_count(50, 50); }), "holds out 50 of 50 training samples");
  EXPECT_CONTAINS(error_of([] { validation_count(-0.2, 50); }), "val_split must be 0, a fraction");

  auto split = split_validation(ds, 0.1);
  ASSERT_EQ(split.train->size(), 45);
  ASSERT_EQ(split.validation->size(), 5);
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(split.validation->pixels(i), ds->pixels(45 + i));
    EXPECT_EQ(split.validation->label(i), ds->label(45 + i));
  }
  EXPECT_EQ(split.train->pixels(44), ds->pixels(44));
  EXPECT_CONTAINS(error_of([&] { split.train->get(45); }), "out of range");
  EXPECT_EQ(split_validation(ds, 0).validation, nullptr);
  EXPECT_EQ(label_histogram(*split.validation), (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));  // labels 45..49 % 10
}

// ---- normalisation constants ---------------------------------------------------------------------

TEST(DataNormalization, DocumentedConstantsAndComputedStatistics) {
  const Normalization c10 = default_normalization("cifar10");
  EXPECT_EQ(c10.mean, (std::vector<float>{0.4914f, 0.4822f, 0.4465f}));
  EXPECT_EQ(c10.std, (std::vector<float>{0.2470f, 0.2435f, 0.2616f}));
  const Normalization c100 = default_normalization("cifar100");
  EXPECT_EQ(c100.mean, (std::vector<float>{0.5071f, 0.4865f, 0.4409f}));
  EXPECT_EQ(c100.std, (std::vector<float>{0.2673f, 0.2564f, 0.2762f}));
  EXPECT_EQ(default_normalization("mnist").mean, std::vector<float>{0.1307f});
  EXPECT_EQ(default_normalization("mnist").std, std::vector<float>{0.3081f});
  EXPECT_CONTAINS(error_of([] { default_normalization("imagenet"); }), "no built-in normalisation for dataset 'imagenet'");

  // Two 1x1x2 images: channel values {0, 255, 255, 255} -> mean 0.75, std sqrt(0.75 * 0.25).
  auto ds = std::make_shared<InMemoryDataset>("two", ImageShape{2, 1, 1}, 2, std::vector<std::string>{},
                                              std::vector<uint8_t>{0, 51, 255, 102}, std::vector<int32_t>{0, 1});
  const Normalization n = compute_normalization(*ds);
  EXPECT_NEAR(n.mean[0], 0.5, 1e-7);
  EXPECT_NEAR(n.std[0], 0.5, 1e-7);
  EXPECT_NEAR(n.mean[1], 0.3, 1e-7);
  EXPECT_NEAR(n.std[1], 0.1, 1e-7);
}

// ---- load_data on a synthetic CIFAR-10 folder ----------------------------------------------------

TEST(DataRegistry, LoadDataAppliesLimitThenValidationSplitThenTestLimit) {
  const fs::path dir = fs::temp_directory_path() / ("sugar_data_registry_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write_batch = [&](const std::string& name, int records) {
    std::ofstream out(dir / name, std::ios::binary);
    for (int r = 0; r < records; ++r) {
      out.put(static_cast<char>(r % 10));
      for (int k = 0; k < 3072; ++k) out.put(static_cast<char>(r));
    }
  };
  for (int k = 1; k <= 5; ++k) write_batch("data_batch_" + std::to_string(k) + ".bin", 10);
  write_batch("test_batch.bin", 8);

  DataOptions options;
  options.name = "cifar10";
  options.root = dir.string();
  options.train_limit = 30;
  options.val_split = 0.2;
  options.test_limit = 5;
  DataSplits splits = load_data(options);
  EXPECT_EQ(splits.train->size(), 24);
  ASSERT_NE(splits.validation, nullptr);
  EXPECT_EQ(splits.validation->size(), 6);
  EXPECT_EQ(splits.validation->pixels(0)[0], 4);  // sample 24 = record 4 of data_batch_3
  EXPECT_EQ(splits.test->size(), 5);
  EXPECT_EQ(splits.num_classes, 10);
  EXPECT_EQ(splits.shape.channels, 3);
  EXPECT_EQ(splits.normalization.mean, default_normalization("cifar10").mean);

  options.mean = {0.5f};
  options.std = {0.25f};
  options.val_split = 0;
  splits = load_data(options);
  EXPECT_EQ(splits.validation, nullptr);
  EXPECT_EQ(splits.normalization.mean, std::vector<float>{0.5f});

  options.name = "cifar11";
  try {
    load_data(options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_CONTAINS(e.what(), "unknown dataset 'cifar11' (known: cifar10, cifar100, mnist, fashion_mnist, image_folder)");
  }
  options.name = "cifar10";
  options.val_split = 30;
  try {
    load_data(options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_CONTAINS(e.what(), "data.val_split: val_split 30 holds out 30 of 30");
  }
  options.val_split = 0;
  options.mean = {0.1f, 0.2f};
  options.std = {1, 1};
  EXPECT_CONTAINS(error_of([&] { load_data(options); }), "normalisation has 2 values but the images have 3 channels");
  fs::remove_all(dir);
}

// What the registry documents before reading a file (what `sugar bench` builds for), from each format's
// documentation: CIFAR images are 32x32 RGB, (Fashion-)MNIST 28x28 grey, 10 classes except CIFAR-100's
// 100 fine or 20 coarse labels; an image folder's classes are its sub-folders, so none is documented.
TEST(DataRegistry, DocumentedShapesAndClassCounts) {
  const auto shape_of = [](DataOptions o) {
    const std::optional<ImageShape> s = expected_image_shape(o);
    return s ? std::vector<int>{s->channels, s->height, s->width} : std::vector<int>{};
  };
  DataOptions o;
  o.name = "cifar10";
  EXPECT_EQ(shape_of(o), (std::vector<int>{3, 32, 32}));
  EXPECT_EQ(expected_num_classes(o), 10);
  o.name = "cifar100";
  EXPECT_EQ(expected_num_classes(o), 100);
  o.coarse_labels = true;
  EXPECT_EQ(expected_num_classes(o), 20);
  o = {};
  o.name = "mnist";
  o.pad_to = 0;
  EXPECT_EQ(shape_of(o), (std::vector<int>{1, 28, 28}));
  o.name = "fashion_mnist";
  o.pad_to = 32;
  EXPECT_EQ(shape_of(o), (std::vector<int>{1, 32, 32}));
  EXPECT_EQ(expected_num_classes(o), 10);
  o.name = "image_folder";
  o.image_size = 64;
  EXPECT_EQ(shape_of(o), (std::vector<int>{3, 64, 64}));
  EXPECT_EQ(expected_num_classes(o), std::nullopt);
  o.name = "cifar11";
  EXPECT_EQ(shape_of(o), std::vector<int>{});
  EXPECT_EQ(expected_num_classes(o), std::nullopt);
}
