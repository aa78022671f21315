#pragma once
// The global --threads as a config override: for commands that run a config (train, sweep, tune) it
// is a shorthand for --set train.threads=N, so the resolved config records it; an explicit
// --set train.threads=... wins.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace sugar::cli {

inline std::vector<std::string> with_global_threads(std::vector<std::string> overrides,
                                                    const CLI::Option* global_threads) {
  if (global_threads == nullptr || global_threads->count() == 0) return overrides;
  for (const std::string& o : overrides)
    if (o.rfind("train.threads=", 0) == 0) return overrides;
  overrides.push_back("train.threads=" + global_threads->as<std::string>());
  return overrides;
}

}  // namespace sugar::cli
