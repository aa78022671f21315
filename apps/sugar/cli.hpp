#pragma once
// The command-line entry point as a library function: a program of your own can register extra
// activations (or anything else) and then call sugar::cli::main(argc, argv).
namespace sugar::cli {

// Parses the command line, sets up logging and threads, runs the chosen subcommand and returns the
// process exit code: 0 success, 1 runtime error, 2 usage error. Never throws; every error is
// printed to stderr as one line "error: <message>".
int main(int argc, char** argv);

}  // namespace sugar::cli
