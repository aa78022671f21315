#pragma once
// Which algorithm a convolution runs: oneDNN's direct convolution or its Winograd convolution
// (jit_wino_4x3 in oneDNN 2.6: fp32, 3x3, stride 1, dilation 1, no groups, on avx512_core). Winograd
// does about half the multiplications of a 3x3 convolution and roughly halves the time of
// ResNet/VGG's stride-1 3x3 layers, at the price of a larger rounding error (its transforms); on the
// 3-channel stem and on everything else it is slower or unavailable.
//
// train.conv_algo picks the policy:
//   direct    every pass of every layer runs direct convolution;
//   winograd  Winograd where oneDNN has an implementation for the layer and pass, direct elsewhere
//             (the choice says which passes fell back, and why);
//   auto      per layer shape and per pass, the faster of the two, decided at the layer's first call
//             (cuDNN's benchmark mode) by timing both on the real tensors with the reorders each
//             forces (its input taken from the layout the real input has, its output handed on in
//             the layout direct convolution would produce, the plain weight reordered into its
//             layout, gradients returned in the caller's layouts). Timings become a choice by the
//             rule of conv_decision.hpp: interleaved pairs, a noise estimate, Winograd only when it
//             clearly wins by kWinogradMargin (it is the less exact of the two); timings that cannot
//             decide, or taken on a busy machine, give a documented prior marked provisional.
// The three passes (forward, backward-data, backward-weights) are separate primitives, so each can
// use its own algorithm.
//
// A layer's choice is made once, at its first call, and kept for every later call whatever the batch
// (the last smaller batch and the evaluation batches compute as training did). The timings behind it
// depend on the batch, so the machine-wide file that keeps measured choices for later runs (see
// src/ops/conv_algorithm_store.hpp: ~/.cache/sugar, SUGAR_CACHE_DIR) keys them by the batch, the
// threads, the input's layout and the passes timed, and keeps a provisional choice only until a
// later run or `sugar tune` measures it clearly. A run records its choices with how each was made
// (run.json, checkpoint metadata) and a resumed run pins them (Conv2dState::pinned), so it computes
// exactly as the original run even on another machine or after the machine's file was deleted; the
// ranks of a data-parallel run all take rank 0's choices (set_conv_choice_agreement).
#include <cstdint>
#include <string>

#include "sugar/name_table.hpp"

namespace sugar::ops {

enum class ConvAlgoPolicy : uint8_t { automatic, direct, winograd };
enum class ConvAlgorithm : uint8_t { direct, winograd };

// "auto", "direct", "winograd" (train.conv_algo's words; sugar/name_table.hpp).
const NameTable<ConvAlgoPolicy>& names_of(ConvAlgoPolicy);
const char* conv_algo_policy_name(ConvAlgoPolicy policy);
// Throws sugar::Error (usage) for another word, naming the known ones.
ConvAlgoPolicy parse_conv_algo_policy(const std::string& text);
// "direct", "winograd".
const char* conv_algorithm_name(ConvAlgorithm algorithm);
ConvAlgorithm parse_conv_algorithm(const std::string& text);

// Winograd is picked only when it takes less than (1 - kWinogradMargin) of direct's time.
inline constexpr double kWinogradMargin = 0.05;

struct ConvPassAlgorithms {
  ConvAlgorithm forward = ConvAlgorithm::direct;
  ConvAlgorithm backward_data = ConvAlgorithm::direct;
  ConvAlgorithm backward_weights = ConvAlgorithm::direct;
  bool operator==(const ConvPassAlgorithms&) const = default;
  bool uses_winograd() const;
};

// What one layer runs, and why.
struct ConvLayerChoice {
  // The layer's shape without the batch: "f32 64x32x32->64x32x32 k3x3 s1x1 p1x1 d1x1 g1 nobias".
  std::string layer;
  ConvAlgoPolicy policy = ConvAlgoPolicy::direct;  // the policy it was made under
  ConvPassAlgorithms algorithms;
  // "requested" (direct/winograd), "measured" (auto, timed by this process), "machine cache" (auto,
  // timed earlier on this machine), "prior" (auto, the timings could not decide) or "recorded"
  // (pinned from a checkpoint)
  std::string source;
  // auto: at least one pass runs the prior because its timings could not decide (conv_decision.hpp).
  bool provisional = false;
  // Why: the measured times of each pass, or the passes that fell back to direct and why.
  std::string note;
  bool operator==(const ConvLayerChoice&) const = default;
};

// One JSON object {"layer", "policy", "forward", "backward_data", "backward_weights", "source",
// "provisional", "note"} and back ("provisional" may be missing: records written before it existed);
// parse errors are one line naming `where` and the field.
std::string to_json_text(const ConvLayerChoice& choice);
ConvLayerChoice conv_layer_choice_from_json(const std::string& text, const std::string& where);

// Forgets this process's choices (the next call of each layer shape asks the machine's file, and
// measures when the file does not have it). For tests.
void clear_conv_algorithm_cache();
// How many times this process has measured a layer shape (auto). For tests.
int64_t conv_algorithm_measurements();

}  // namespace sugar::ops
