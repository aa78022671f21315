#pragma once
// The convolution algorithms of a whole model (ops/conv_algorithm.hpp): set the policy of every
// Conv2d, collect what each chose, and pin recorded choices. Checkpoints store the collected choices
// as JSON in their metadata and loading pins them, so a resumed run, or an evaluation of its
// checkpoint, computes with the algorithms the run used.
#include <string>
#include <utility>
#include <vector>

#include "sugar/nn/module.hpp"
#include "sugar/ops/conv_algorithm.hpp"

namespace sugar::nn {

// Sets the policy of every Conv2d under root.
void set_conv_algorithm(Module& root, ops::ConvAlgoPolicy policy);

// Each Conv2d's choice from its last forward, by module path, in module order; layers that have not
// run yet are left out.
std::vector<std::pair<std::string, ops::ConvLayerChoice>> conv_algorithm_choices(Module& root);

// One line for a run's log: how the choices were made, e.g. "20 convolution layers: 12 measured, 5
// from this machine's store, 1 prior (provisional), 2 requested"; with the provisional layers named
// after "provisional: " when there are any.
std::string conv_algorithm_summary(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices);
// One line per layer for a terminal: "  layer1.0.conv1   WWd  measured      f32 64x32x32->... (note)":
// the forward/backward-data/backward-weights algorithms (d = direct, W = Winograd), how the choice
// was made ("prior*" marks a provisional one), the layer and, with `notes`, why.
std::string conv_algorithm_lines(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices,
                                 bool notes = true);
// How many of the choices are provisional (their timings could not decide).
int64_t count_provisional(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices);

// {"layer1.0.conv1": {"layer": ..., "policy": ..., "forward": ..., ...}, ...} ("{}" when none ran).
std::string conv_algorithm_choices_json(Module& root);

// Pins the choices of conv_algorithm_choices_json text on the named Conv2d layers. A choice applies
// only while the layer's shape and policy match it (a run resumed with another train.conv_algo
// decides afresh). Throws sugar::Error naming `where` for malformed text or a name that is no Conv2d
// of root.
void pin_conv_algorithm_choices(Module& root, const std::string& json_text, const std::string& where);

}  // namespace sugar::nn
