#pragma once
// `sugar bench [--model NAME] [--classes K] [--batch N] [--threads T] [--dtype f32|bf16]
// [--phase train|infer] [--activation SPEC] [--warmup N] [--iters N] [--seed S] [--json]`: images/s of
// training or inference steps on random 32x32x3 inputs, with the time per op kind and the peak
// memory (sugar/bench/bench.hpp). Progress goes to stderr, the result to stdout.
#include "command.hpp"

namespace sugar::cli {

Command add_bench_command(CLI::App& parent);

}  // namespace sugar::cli
