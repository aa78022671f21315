#include "sugar/data/transforms.hpp"

#include <algorithm>
#include <cmath>

#include "sugar/data/sampling.hpp"
#include "sugar/error.hpp"

namespace sugar::data {

namespace {

// torchvision's RandomErasing.get_params: with probability p, up to 10 tries of a target area (2% to
// 33% of the image) and a log-uniform aspect ratio in [0.3, 3.3]; the first rectangle that fits
// strictly inside the image is erased, none if none does. Its own stream (a sample takes up to 41
// draws), counters 64 per sample.
void draw_erasing(float p, ImageShape shape, uint64_t seed, int64_t epoch, int64_t sample_index, AugmentDraw& draw) {
  const RandomStream stream(seed, augment_key(epoch) + "/erasing");
  const uint64_t base = 64 * static_cast<uint64_t>(sample_index);
  if (!(stream.uniform(base) < p)) return;
  const double area = static_cast<double>(shape.height) * shape.width;
  const double log_low = std::log(0.3), log_high = std::log(3.3);
  for (uint64_t attempt = 0; attempt < 10; ++attempt) {
    const uint64_t at = base + 1 + 4 * attempt;
    const double target = area * (0.02 + (0.33 - 0.02) * stream.uniform_double(at));
    const double aspect = std::exp(log_low + (log_high - log_low) * stream.uniform_double(at + 1));
    const int h = static_cast<int>(std::lround(std::sqrt(target * aspect)));
    const int w = static_cast<int>(std::lround(std::sqrt(target / aspect)));
    if (!(h < shape.height && w < shape.width)) continue;
    draw.erase_y = static_cast<int>(random_below(stream, at + 2, static_cast<uint64_t>(shape.height - h + 1)));
    draw.erase_x = static_cast<int>(random_below(stream, at + 3, static_cast<uint64_t>(shape.width - w + 1)));
    draw.erase_h = h;
    draw.erase_w = w;
    return;
  }
}

}  // namespace

AugmentDraw draw_augment(const AugmentOptions& options, ImageShape shape, uint64_t seed, int64_t epoch,
                         int64_t sample_index) {
  AugmentDraw draw;
  if (!options.any()) return draw;
  const RandomStream stream(seed, augment_key(epoch));
  const uint64_t base = 8 * static_cast<uint64_t>(sample_index);
  if (options.crop_padding > 0) {
    const uint64_t positions = 2 * static_cast<uint64_t>(options.crop_padding) + 1;
    draw.crop_y = static_cast<int>(random_below(stream, base + kSlotCropY, positions));
    draw.crop_x = static_cast<int>(random_below(stream, base + kSlotCropX, positions));
  }
  if (options.hflip) draw.flip = stream.uniform(base + kSlotFlip) < options.hflip_probability;
  if (options.cutout > 0) {
    draw.cutout_y = static_cast<int>(random_below(stream, base + kSlotCutoutY, static_cast<uint64_t>(shape.height)));
    draw.cutout_x = static_cast<int>(random_below(stream, base + kSlotCutoutX, static_cast<uint64_t>(shape.width)));
  }
  if (options.random_erasing > 0) draw_erasing(options.random_erasing, shape, seed, epoch, sample_index, draw);
  return draw;
}

void crop_with_zero_padding(const float* in, ImageShape shape, int padding, int offset_y, int offset_x, float* out) {
  const int H = shape.height, W = shape.width;
  for (int c = 0; c < shape.channels; ++c) {
    const float* plane = in + int64_t{c} * H * W;
    float* dst = out + int64_t{c} * H * W;
    for (int y = 0; y < H; ++y) {
      const int sy = y + offset_y - padding;
      for (int x = 0; x < W; ++x) {
        const int sx = x + offset_x - padding;
        dst[y * W + x] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? plane[sy * W + sx] : 0.0f;
      }
    }
  }
}

void horizontal_flip(float* image, ImageShape shape) {
  const int W = shape.width;
  for (int64_t row = 0; row < int64_t{shape.channels} * shape.height; ++row) std::reverse(image + row * W, image + (row + 1) * W);
}

void check_normalization(const Normalization& n, int channels, const std::string& context) {
  SUGAR_CHECK(n.mean.size() == n.std.size(), context, ": normalisation has ", n.mean.size(), " means but ",
              n.std.size(), " stds");
  SUGAR_CHECK(n.mean.empty() || n.mean.size() == 1 || static_cast<int>(n.mean.size()) == channels, context,
              ": normalisation has ", n.mean.size(), " values but the images have ", channels, " channels");
  for (size_t c = 0; c < n.std.size(); ++c)
    SUGAR_CHECK(n.std[c] > 0 && std::isfinite(n.std[c]) && std::isfinite(n.mean[c]), context,
                ": normalisation channel ", c, " has mean ", n.mean[c], " and std ", n.std[c],
                " (std must be positive and both finite)");
}

void normalize(float* image, ImageShape shape, const Normalization& n) {
  if (n.mean.empty()) return;
  const int64_t plane = int64_t{shape.height} * shape.width;
  for (int c = 0; c < shape.channels; ++c) {
    const size_t k = n.mean.size() == 1 ? 0 : static_cast<size_t>(c);
    const float mean = n.mean[k], inv_std = 1.0f / n.std[k];
    float* p = image + c * plane;
    for (int64_t i = 0; i < plane; ++i) p[i] = (p[i] - mean) * inv_std;
  }
}

void erase(float* image, ImageShape shape, int y, int x, int h, int w) {
  for (int c = 0; c < shape.channels; ++c)
    for (int row = y; row < y + h; ++row)
      std::fill(image + (int64_t{c} * shape.height + row) * shape.width + x,
                image + (int64_t{c} * shape.height + row) * shape.width + x + w, 0.0f);
}

void cutout(float* image, ImageShape shape, int center_y, int center_x, int size) {
  const int y0 = std::clamp(center_y - size / 2, 0, shape.height), y1 = std::clamp(center_y - size / 2 + size, 0, shape.height);
  const int x0 = std::clamp(center_x - size / 2, 0, shape.width), x1 = std::clamp(center_x - size / 2 + size, 0, shape.width);
  for (int c = 0; c < shape.channels; ++c)
    for (int y = y0; y < y1; ++y)
      std::fill(image + (int64_t{c} * shape.height + y) * shape.width + x0,
                image + (int64_t{c} * shape.height + y) * shape.width + x1, 0.0f);
}

ImageTransform::ImageTransform(AugmentOptions augment, Normalization normalization, uint64_t seed)
    : augment_(augment), normalization_(std::move(normalization)), seed_(seed) {
  SUGAR_CHECK(augment_.crop_padding >= 0, "augment: crop_padding must be >= 0, got ", augment_.crop_padding);
  SUGAR_CHECK(augment_.cutout >= 0, "augment: cutout must be >= 0, got ", augment_.cutout);
  SUGAR_CHECK(augment_.random_erasing >= 0 && augment_.random_erasing <= 1,
              "augment: random_erasing must be a probability in [0, 1], got ", augment_.random_erasing);
  SUGAR_CHECK(augment_.hflip_probability >= 0 && augment_.hflip_probability <= 1,
              "augment: hflip probability must be in [0, 1], got ", augment_.hflip_probability);
  check_normalization(normalization_, static_cast<int>(std::max<size_t>(normalization_.mean.size(), 1)), "augment");
}

void ImageTransform::apply(const Dataset& dataset, int64_t index, int64_t epoch, float* out) const {
  dataset.check_index(index);
  const ImageShape shape = dataset.image_shape();
  if (!normalization_.mean.empty() && normalization_.mean.size() != 1)
    SUGAR_CHECK(static_cast<int>(normalization_.mean.size()) == shape.channels, dataset.description(),
                ": normalisation has ", normalization_.mean.size(), " channels but the images have ", shape.channels);
  const AugmentDraw draw = draw_augment(augment_, shape, seed_, epoch, index);
  const int H = shape.height, W = shape.width, p = augment_.crop_padding;
  const uint8_t* src = dataset.pixels(index);
  constexpr float scale = 1.0f / 255.0f;
  // Crop, flip and the uint8 -> float conversion in one pass: out[y][x] reads the padded image at
  // (y + crop_y, x' + crop_x) with x' = W - 1 - x when flipped.
  for (int c = 0; c < shape.channels; ++c) {
    const uint8_t* plane = src + int64_t{c} * H * W;
    float* dst = out + int64_t{c} * H * W;
    for (int y = 0; y < H; ++y) {
      const int sy = y + draw.crop_y - p;
      float* row = dst + y * W;
      if (sy < 0 || sy >= H) {
        std::fill(row, row + W, 0.0f);
        continue;
      }
      for (int x = 0; x < W; ++x) {
        const int sx = (draw.flip ? W - 1 - x : x) + draw.crop_x - p;
        row[x] = (sx >= 0 && sx < W) ? static_cast<float>(plane[sy * W + sx]) * scale : 0.0f;
      }
    }
  }
  normalize(out, shape, normalization_);
  if (augment_.cutout > 0) cutout(out, shape, draw.cutout_y, draw.cutout_x, augment_.cutout);
  if (draw.erase_h > 0) erase(out, shape, draw.erase_y, draw.erase_x, draw.erase_h, draw.erase_w);
}

}  // namespace sugar::data
