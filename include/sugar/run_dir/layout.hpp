#pragma once
// The run directory's files: the one place that names them. A run directory (default runs/<name>)
// holds
//   config.yaml        the fully resolved config (overrides applied)
//   metrics.csv        one row per epoch (train/metrics_csv.hpp)
//   neurons.csv        dead units, sparsity and gradients per activation site and epoch
//                      (train/neurons_csv.hpp, train/neuron_stats.hpp); unless train.neuron_stats is false
//   train.log          everything logged during the run
//   last.safetensors   model + optimizer + counters after the latest epoch (train/checkpoint.hpp)
//   best.safetensors   the same at the epoch of the best eval top-1 (validation set if any, else test)
//   status.json        running / interrupted / failed / finished, with a heartbeat (run_dir/status.hpp)
//   run.json           provenance (train/run_info.hpp)
//   .lock              the kernel lock that makes one process the directory's owner (run_dir/lock.hpp)
#include <string>

namespace sugar::run_dir {

inline constexpr const char* kConfigFile = "config.yaml";
inline constexpr const char* kMetricsFile = "metrics.csv";
inline constexpr const char* kNeuronsFile = "neurons.csv";
inline constexpr const char* kLogFile = "train.log";
inline constexpr const char* kLastCheckpoint = "last.safetensors";
inline constexpr const char* kBestCheckpoint = "best.safetensors";
inline constexpr const char* kStatusFile = "status.json";
inline constexpr const char* kRunInfoFile = "run.json";
inline constexpr const char* kLockFile = ".lock";

// dir/file as a string.
std::string path_in(const std::string& dir, const char* file);

// Whether `name` is one of the files above, or a temporary file of an atomic write of one of them
// (.<file>.tmp.XXXXXX): what `--force` may delete.
bool is_run_file(const std::string& name);

// Whether `dir` holds at least one of the files only a Sugar run writes (config.yaml, status.json,
// metrics.csv): what --force demands before it deletes anything.
bool looks_like_run(const std::string& dir);

}  // namespace sugar::run_dir
