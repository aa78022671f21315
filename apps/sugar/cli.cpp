#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "sugar/error.hpp"
#include "sugar/runtime.hpp"

namespace sugar::cli {

int main(int argc, char** argv) {
  CLI::App app{"Sugar: train and compare activation functions on the CPU"};
  app.set_version_flag("--version", "sugar " + sugar_version() + " (commit " + sugar_git_commit() + ", oneDNN " +
                                        onednn_version() + ")");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

}  // namespace sugar::cli
