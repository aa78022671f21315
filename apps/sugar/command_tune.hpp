#pragma once
// `sugar tune CONFIG [--set key=value ...] [--ranks N] [--reset]`,
// `sugar tune --model NAME [--batch N] [--dtype f32|bf16] [--activation SPEC] [--classes K] [--reset]` and
// `sugar tune --reset`: measure auto's convolution algorithm choices of a config's or a model's
// layers again and keep them in this machine's store (sugar/train/tune.hpp), or forget the store.
#include "command.hpp"

namespace sugar::cli {

Command add_tune_command(CLI::App& parent);

}  // namespace sugar::cli
