#pragma once
// `sugar train` and `sugar eval`: the experiment commands over sugar::train.
#include <vector>

#include "command.hpp"

namespace sugar::cli {

// Adds the `train` and `eval` subcommands to `parent` and returns them for cli.cpp to run.
std::vector<Command> add_train_commands(CLI::App& parent);

}  // namespace sugar::cli
