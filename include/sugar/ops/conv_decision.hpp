#pragma once
// How `auto` turns timings into a choice between direct and Winograd convolution for one pass of one
// layer, kept apart from the timing itself so that the rule can be tested with made-up timings.
//
// The two candidates are timed in interleaved pairs (direct, Winograd, Winograd, direct, ...): a burst
// of load then slows both members of a pair, and the pair's ratio winograd/direct stays honest where
// each candidate's own times do not. The rule looks at the log of each pair's ratio:
//
//   centre = median of the log-ratios, noise = 1.4826 x their median absolute deviation (a spread
//   that one disturbed pair cannot inflate; it equals the standard deviation for normal noise), never
//   below kNoiseFloor (seven pairs can agree by chance more closely than repeated runs do: the same
//   layer measured again varies by a few percent with the machine's clock and caches), and the
//   uncertainty of the centre = kNoiseWidths x noise / sqrt(pairs). At least kMinPairs pairs.
//
// Winograd is chosen, as a clear result, when even the pessimistic end of that interval has it faster
// than direct by kWinogradMargin (it is the less exact of the two, so it must win by a margin);
// direct is chosen, as a clear result, when even the optimistic end does not reach the margin (a tie
// included). Anything in between cannot be told apart from noise: the choice is then the prior below
// and marked provisional. So is every choice measured while other processes used more than
// kBusyLimit of the machine's processors: a loaded machine changes the ratio itself, not only its
// spread (Winograd's larger working set suffers more when caches are shared).
//
// Only clear choices are kept for later runs as measured; a provisional one is measured again by the
// next run that meets it (or by `sugar tune`), and runs that use one say so in their log.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/ops/conv_algorithm.hpp"

namespace sugar::ops {

// Pairs timed per pass: each pair runs both candidates once.
inline constexpr int kTimedPairs = 7;
// How many noise widths the centre must clear the margin by (about a 99% one-sided interval for 7
// pairs of normal noise; the median's larger variance is covered by the factor's size).
inline constexpr double kNoiseWidths = 3.0;
// Other processes' share of all processors above which a measurement is not trusted.
inline constexpr double kBusyLimit = 0.10;
// The smallest noise of one pair's log-ratio the rule assumes (2%), and the fewest pairs it decides on.
inline constexpr double kNoiseFloor = 0.02;
inline constexpr size_t kMinPairs = 5;

struct PassTimings {
  std::vector<double> direct_ms;    // pair i's direct time
  std::vector<double> winograd_ms;  // pair i's Winograd time
  // Of all processors' time during the pairs, the share other processes (and the hypervisor) used;
  // negative when it could not be read.
  double others_busy = -1;
};

struct PassDecision {
  ConvAlgorithm algorithm = ConvAlgorithm::direct;
  bool provisional = false;
  double ratio = 1;           // median winograd/direct time (exp of the centre)
  double noise = 0;           // the spread of one pair's log-ratio (about its relative noise)
  double direct_median_ms = 0, winograd_median_ms = 0;  // each candidate's median time, for notes
  std::string reason;         // one phrase: "winograd 0.55x direct +-2%", "too close to call: ..."
};

// The rule above. `prior` is what a provisional decision runs. Throws sugar::Error when the two
// lists differ in length, hold fewer than kMinPairs times or a time that is not positive and finite.
PassDecision decide_pass(const PassTimings& timings, ConvAlgorithm prior);

// What runs when the timings cannot decide (the machine was busy, the two were too close, or
// nothing was timed): Winograd for a stride-1 3x3 f32 layer with at least kPriorMinChannels input
// channels and an output of at least kPriorMinSide x kPriorMinSide, direct otherwise. Measured on
// this project's reference machine (AMD EPYC, AVX-512, 2 threads) at batch 32 and 128 for every
// ResNet-18 and VGG-16 layer: Winograd was 1.3-2.8x faster on all such layers in all three passes,
// except at 4x4 and batch 32 where the two tied within 20% either way; slower on the 3-channel stem
// (4x) and on 2x2 outputs (1.5-3x).
inline constexpr int64_t kPriorMinChannels = 64;
inline constexpr int64_t kPriorMinSide = 4;
ConvAlgorithm prior_algorithm(int64_t in_channels, int64_t out_height, int64_t out_width);

}  // namespace sugar::ops
