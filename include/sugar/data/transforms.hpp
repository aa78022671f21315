#pragma once
// Per-sample image transforms, applied in the order torchvision's CIFAR recipes use:
//
//   random crop with zero padding -> horizontal flip -> to float in [0, 1] -> normalise -> cutout
//
// Cutout comes after normalisation, as in the reference implementation of DeVries & Taylor (2017),
// "Improved Regularization of Convolutional Neural Networks with Cutout" (uoguelph-mlrg/Cutout), so
// the erased square is 0 in normalised units, i.e. the dataset mean.
//
// Every random decision for sample i in epoch k comes from RandomStream(seed, "augment/epoch<k>") at
// counters 8*i + slot (slots below), so it is the same whichever thread prepares the sample.
#include <cstdint>
#include <vector>

#include "sugar/data/dataset.hpp"

namespace sugar::data {

struct Normalization {
  // Per channel (or one value for every channel); empty = no normalisation. std must be > 0.
  std::vector<float> mean;
  std::vector<float> std;
};

struct AugmentOptions {
  int crop_padding = 0;            // pad by p zeros on every side, then crop back at a random offset; 0 = off
  bool hflip = false;              // mirror left-right with probability hflip_probability
  float hflip_probability = 0.5f;
  int cutout = 0;                  // side of the zeroed square; 0 = off
  // torchvision's RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0) after normalisation:
  // with probability p, a rectangle of 2% to 33% of the image and aspect ratio (h / w) from 0.3 to 3.3
  // (log-uniform) is zeroed; 0 = off.
  float random_erasing = 0.0f;
  bool any() const { return crop_padding > 0 || hflip || cutout > 0 || random_erasing > 0; }
};

// What the augmentation decided for one sample.
struct AugmentDraw {
  int crop_y = 0, crop_x = 0;  // offset of the crop in the padded image, in [0, 2 * crop_padding]
  bool flip = false;
  int cutout_y = 0, cutout_x = 0;  // centre of the cutout square, in [0, H) x [0, W)
  int erase_y = 0, erase_x = 0, erase_h = 0, erase_w = 0;  // the erased rectangle; erase_h 0 = none
};

// Counter slots inside a sample's block of 8 counters.
enum AugmentSlot : uint64_t { kSlotCropY = 0, kSlotCropX = 1, kSlotFlip = 2, kSlotCutoutY = 3, kSlotCutoutX = 4 };

AugmentDraw draw_augment(const AugmentOptions& options, ImageShape shape, uint64_t seed, int64_t epoch,
                         int64_t sample_index);

// ---- the individual steps on float CHW images (C x H x W) ----------------------------------------
// out[c][y][x] = in[c][y + offset_y - padding][x + offset_x - padding], 0 outside the image; in and out
// must not overlap. padding 0 with offsets 0 is the identity.
void crop_with_zero_padding(const float* in, ImageShape shape, int padding, int offset_y, int offset_x, float* out);
// Mirrors each row in place: x -> W - 1 - x.
void horizontal_flip(float* image, ImageShape shape);
// x -> (x - mean[c]) / std[c].
void normalize(float* image, ImageShape shape, const Normalization& normalization);
// Zeroes rows [y, y + h) x columns [x, x + w) of every channel (random erasing's rectangle).
void erase(float* image, ImageShape shape, int y, int x, int h, int w);
// Zeroes rows [cy - size/2, cy - size/2 + size) x the same columns around cx, clipped at the borders.
// For even sizes this is exactly the reference's square; for odd sizes the square is `size` wide
// (the reference's y - size//2 .. y + size//2 would be size - 1).
void cutout(float* image, ImageShape shape, int center_y, int center_x, int size);

// Throws sugar::Error when the normalisation does not fit `channels` or a std is not positive.
void check_normalization(const Normalization& normalization, int channels, const std::string& context);

// The whole per-sample pipeline, configured once and applied by the loader's workers.
class ImageTransform {
 public:
  ImageTransform() = default;  // identity: pixels / 255
  ImageTransform(AugmentOptions augment, Normalization normalization, uint64_t seed);

  // Writes sample `index` of `dataset`, transformed for `epoch`, as C*H*W floats to `out`.
  void apply(const Dataset& dataset, int64_t index, int64_t epoch, float* out) const;

  const AugmentOptions& augment() const { return augment_; }
  const Normalization& normalization() const { return normalization_; }
  uint64_t seed() const { return seed_; }

 private:
  AugmentOptions augment_;
  Normalization normalization_;
  uint64_t seed_ = 0;
};

}  // namespace sugar::data
