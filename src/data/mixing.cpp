#include "sugar/data/mixing.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sugar/data/sampling.hpp"
#include "sugar/error.hpp"

namespace sugar::data {

namespace {

// Counter slots inside a batch's block of kMixCountersPerBatch.
constexpr uint64_t kSlotApply = 0, kSlotSwitch = 1, kSlotBoxY = 2, kSlotBoxX = 3, kSlotBeta = 8;
// A gamma draw takes at most this many rejection rounds (two counters each). Marsaglia-Tsang accepts
// with probability above 0.95 for every shape >= 1, so 30 rejections in a row (below 1e-39) never
// happen; the cap only keeps the loop bounded.
constexpr uint64_t kGammaRounds = 30;
constexpr uint64_t kGammaCounters = 2 * kGammaRounds + 4;

// Gamma(shape, 1) from counters [first, first + kGammaCounters). Marsaglia & Tsang (2000), "A simple
// method for generating gamma variables"; for shape < 1, Gamma(shape + 1) * U^(1 / shape).
double gamma_draw(const RandomStream& stream, uint64_t first, double shape) {
  const bool boost = shape < 1.0;
  const double d = (boost ? shape + 1.0 : shape) - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  double value = d;  // the mode; only reached if every round were rejected
  for (uint64_t round = 0; round < kGammaRounds; ++round) {
    const double x = stream.normal(first + 2 * round);
    const double v_root = 1.0 + c * x;
    if (v_root <= 0) continue;
    const double v = v_root * v_root * v_root;
    const double u = stream.uniform_double(first + 2 * round + 1);
    if (u > 0 && std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) {
      value = d * v;
      break;
    }
  }
  if (boost) {
    // U in (0, 1]: U = 0 would give 0, a lam of exactly 0 or 1 that Beta never draws.
    const double u = 1.0 - stream.uniform_double(first + kGammaCounters - 1);
    value *= std::pow(u, 1.0 / shape);
  }
  return value;
}

}  // namespace

double beta_symmetric(const RandomStream& stream, uint64_t first, double alpha) {
  SUGAR_CHECK(alpha > 0 && std::isfinite(alpha), "mixing: the Beta parameter must be positive, got ", alpha);
  const double x = gamma_draw(stream, first, alpha);
  const double y = gamma_draw(stream, first + kGammaCounters, alpha);
  // Both underflow to 0 only for tiny alpha (below about 0.01): the draw is then 0 or 1 by a coin,
  // which is where Beta(alpha, alpha)'s mass is.
  if (x + y == 0) return stream.uniform(first + 2 * kGammaCounters) < 0.5 ? 0.0 : 1.0;
  return x / (x + y);
}

MixDraw draw_mix(const MixOptions& options, ImageShape shape, uint64_t seed, int64_t epoch, int64_t batch_index) {
  MixDraw draw;
  if (!options.enabled()) return draw;
  static_assert(kSlotBeta + 2 * kGammaCounters + 1 <= kMixCountersPerBatch, "a batch's counters overlap the next's");
  const RandomStream stream(seed, "mix/epoch" + std::to_string(epoch));
  const uint64_t base = kMixCountersPerBatch * static_cast<uint64_t>(batch_index);
  if (!(stream.uniform_double(base + kSlotApply) < options.probability)) return draw;
  bool cutmix = options.mixup_alpha <= 0;
  if (options.mixup_alpha > 0 && options.cutmix_alpha > 0)
    cutmix = stream.uniform_double(base + kSlotSwitch) < options.switch_probability;
  const double lam = beta_symmetric(stream, base + kSlotBeta, cutmix ? options.cutmix_alpha : options.mixup_alpha);
  draw.own_weight = lam;
  if (!cutmix) {
    draw.kind = MixKind::mixup;
    return draw;
  }
  // timm's rand_bbox: a cut of int(side * sqrt(1 - lam)) around a centre uniform in [0, side), clipped.
  draw.kind = MixKind::cutmix;
  const double ratio = std::sqrt(1.0 - lam);
  const int cut_h = static_cast<int>(shape.height * ratio), cut_w = static_cast<int>(shape.width * ratio);
  const int cy = static_cast<int>(random_below(stream, base + kSlotBoxY, static_cast<uint64_t>(shape.height)));
  const int cx = static_cast<int>(random_below(stream, base + kSlotBoxX, static_cast<uint64_t>(shape.width)));
  draw.box_y0 = std::clamp(cy - cut_h / 2, 0, shape.height);
  draw.box_y1 = std::clamp(cy + cut_h / 2, 0, shape.height);
  draw.box_x0 = std::clamp(cx - cut_w / 2, 0, shape.width);
  draw.box_x1 = std::clamp(cx + cut_w / 2, 0, shape.width);
  // correct_lam: the weight is the share of the image that stays the sample's own.
  const double box_area = static_cast<double>(draw.box_y1 - draw.box_y0) * (draw.box_x1 - draw.box_x0);
  draw.own_weight = 1.0 - box_area / (static_cast<double>(shape.height) * shape.width);
  return draw;
}

std::vector<int32_t> mix_part(const MixDraw& draw, ImageShape shape, int64_t offset, int64_t global_count,
                              float* images, const std::vector<int32_t>& labels) {
  const int64_t count = static_cast<int64_t>(labels.size());
  const int64_t image_size = int64_t{shape.channels} * shape.height * shape.width;
  std::vector<int32_t> partner_labels(labels);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t partner = mix_partner(offset + i, global_count) - offset;
    SUGAR_CHECK(partner >= 0 && partner < count, "mixing: sample ", offset + i, " of a batch of ", global_count,
                " has its partner outside this part [", offset, ", ", offset + count, ")");
    partner_labels[static_cast<size_t>(i)] = labels[static_cast<size_t>(partner)];
    if (partner <= i || draw.kind == MixKind::none) continue;  // each pair once, from its first sample
    float* a = images + i * image_size;
    float* b = images + partner * image_size;
    if (draw.kind == MixKind::mixup) {
      const float own = static_cast<float>(draw.own_weight), other = static_cast<float>(1.0 - draw.own_weight);
      for (int64_t k = 0; k < image_size; ++k) {
        const float x = a[k], y = b[k];
        a[k] = own * x + other * y;
        b[k] = own * y + other * x;
      }
    } else {
      for (int c = 0; c < shape.channels; ++c)
        for (int y = draw.box_y0; y < draw.box_y1; ++y) {
          const int64_t row = (int64_t{c} * shape.height + y) * shape.width;
          std::swap_ranges(a + row + draw.box_x0, a + row + draw.box_x1, b + row + draw.box_x0);
        }
    }
  }
  return partner_labels;
}

}  // namespace sugar::data
