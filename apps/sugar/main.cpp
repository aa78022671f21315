#include "cli.hpp"

int main(int argc, char** argv) { return sugar::cli::main(argc, argv); }
