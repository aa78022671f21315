#pragma once
// The command-line entry point as a library function: a program of your own can register extra
// activations (or anything else) and then call sugar::cli::main(argc, argv).
namespace sugar::cli {
int main(int argc, char** argv);
}
