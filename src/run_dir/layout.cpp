#include "sugar/run_dir/layout.hpp"

#include <filesystem>

namespace sugar::run_dir {

std::string path_in(const std::string& dir, const char* file) { return (std::filesystem::path(dir) / file).string(); }

bool looks_like_run(const std::string& dir) {
  std::error_code error;
  for (const char* file : {kConfigFile, kStatusFile, kMetricsFile})
    if (std::filesystem::exists(path_in(dir, file), error)) return true;
  return false;
}

}  // namespace sugar::run_dir
