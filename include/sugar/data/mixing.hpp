#pragma once
// Mixup and CutMix on a training batch, with timm's `Mixup` semantics (mode "batch", correct_lam):
//
//   * per batch, with probability `probability`, one weight lam ~ Beta(alpha, alpha) is drawn; with both
//     mixup and cutmix on, cutmix is chosen with probability `switch_probability`;
//   * mixup: x_i <- lam * x_i + (1 - lam) * x_partner;
//   * cutmix: a box of side sqrt(1 - lam) * H by sqrt(1 - lam) * W around a uniform centre, clipped at
//     the border, is taken from the partner; lam becomes 1 - (box area) / (H * W) (correct_lam);
//   * the target is lam * smooth_one_hot(y_i) + (1 - lam) * smooth_one_hot(y_partner), learned with
//     soft-target cross-entropy (ops::cross_entropy with MixedLabels).
//
// Pairs. timm pairs sample i with sample B-1-i of the batch (x.flip(0)). Sugar pairs neighbours in the
// global batch: positions 2j and 2j+1 (an odd last sample is its own partner, i.e. not mixed). The
// batch is a uniformly shuffled slice of the epoch, so both rules draw the same kind of random pairing;
// neighbours have the advantage that a pair never spans two ranks: the loader starts each rank's part
// at an even position (DataLoader's part_bounds; the trainer requires an even number of images per
// rank), so 2 ranks mix exactly the pairs one process mixes, with the same lam and box (drawn from (seed, epoch, batch index) alone), without exchanging
// images.
//
// The random numbers: RandomStream(seed, "mix/epoch<k>") at counters kMixCountersPerBatch * b + slot
// for global batch b of epoch k.
#include <cstdint>
#include <vector>

#include "sugar/data/dataset.hpp"
#include "sugar/random.hpp"

namespace sugar::data {

struct MixOptions {
  double mixup_alpha = 0.0;         // Beta(alpha, alpha) for mixup's lam; 0 = mixup off
  double cutmix_alpha = 0.0;        // Beta(alpha, alpha) for cutmix's lam; 0 = cutmix off
  double probability = 1.0;         // a batch is mixed with this probability
  double switch_probability = 0.5;  // with both on: cutmix with this probability, else mixup
  // Whether any batch can be mixed (probability 0 is the same as no mixing at all).
  bool enabled() const { return (mixup_alpha > 0 || cutmix_alpha > 0) && probability > 0; }
};

enum class MixKind { none, mixup, cutmix };

// What was decided for one global batch.
struct MixDraw {
  MixKind kind = MixKind::none;
  double own_weight = 1.0;  // lam: the weight of a sample's own image and label
  int box_y0 = 0, box_y1 = 0, box_x0 = 0, box_x1 = 0;  // cutmix: rows [y0, y1) x columns [x0, x1)
};

inline constexpr uint64_t kMixCountersPerBatch = 256;

MixDraw draw_mix(const MixOptions& options, ImageShape shape, uint64_t seed, int64_t epoch, int64_t batch_index);

// A Beta(alpha, alpha) draw from the stream's counters [first, first + 129): two gamma draws
// (Marsaglia-Tsang, 64 counters each), X / (X + Y), and one coin for the case both underflow. alpha
// must be positive.
double beta_symmetric(const RandomStream& stream, uint64_t first, double alpha);

// The position that global position `position` is mixed with in a global batch of `global_count`.
inline int64_t mix_partner(int64_t position, int64_t global_count) {
  const int64_t partner = position ^ 1;
  return partner < global_count ? partner : position;
}

// Mixes part [offset, offset + count) of a global batch of `global_count` samples in place: `images`
// holds the part's count C*H*W float images, `labels` its labels. Every partner must lie inside the
// part (offset even, and count even unless the part ends the batch). Returns each sample's partner
// label.
std::vector<int32_t> mix_part(const MixDraw& draw, ImageShape shape, int64_t offset, int64_t global_count,
                              float* images, const std::vector<int32_t>& labels);

}  // namespace sugar::data
