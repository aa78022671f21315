#pragma once
// `sugar activations list | eval | plot`: look at the activation table from the command line.
//
//   sugar activations list
//   sugar activations eval 'sugar(surrogate=nelu, alpha=0.1)' --x=-2,-0.5,0.3,1
//   sugar activations plot bsilu 'sugar(surrogate=bsilu)' --out bsilu.png --range -6:6
//
// Every row of the table is available, including rows a program registered before handing over to
// sugar::cli::main.
#include "command.hpp"

namespace sugar::cli {

Command add_activations_command(CLI::App& parent);

}  // namespace sugar::cli
