#pragma once
// How a subcommand plugs into the sugar program: each lives in its own file and exposes one
// add_<name>_command function that declares its options on a CLI11 subcommand and returns what to
// run. Running happens after parsing, once logging and the thread count are set, inside the
// error handler of sugar::cli::main (so a sugar::Error becomes one line and the right exit code).
#include <CLI/CLI.hpp>
#include <functional>

namespace sugar::cli {

struct Command {
  CLI::App* app = nullptr;   // the parsed subcommand
  std::function<int()> run;  // returns the exit code
};

// One line per subcommand; cli.cpp calls each of these.
Command add_demo_command(CLI::App& parent);

}  // namespace sugar::cli
