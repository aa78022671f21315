#pragma once
// Where training stands, as a checkpoint records it in its metadata (format "sugar-checkpoint/1"):
// epochs and batches done, the optimizer step, the best evaluation so far, the accumulators of a
// mid-epoch checkpoint, and `config_math`: every config value that changes the math (config::
// math_values), so that `--resume` refuses a config.yaml edited after the run started.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/io/safetensors.hpp"

namespace sugar::train {

struct TrainingPosition {
  int64_t epoch = 0;  // epochs completed
  int64_t batch = 0;  // batches done in epoch + 1 (a mid-epoch checkpoint); 0 at an epoch boundary
  int64_t step = 0;   // optimizer iterations done
  double best_eval_top1 = -1;  // -1: no finite evaluation yet
  int64_t best_epoch = 0;
  double last_lr = 0;
  // Accumulators of the epoch in progress (mid-epoch checkpoints only).
  double loss_sum = 0;
  int64_t correct = 0;
  int64_t seen = 0;
  double train_seconds = 0;
};

// The metadata entries of a training checkpoint.
io::Metadata position_metadata(const TrainingPosition& position, const config::ExperimentConfig& config,
                               const std::string& eval_split);

// Reads and checks the position (whole numbers, finite values, consistent counters); a sugar::Error
// (runtime) names `source` and the entry otherwise.
TrainingPosition read_position(const io::Metadata& metadata, const std::string& source);

// The config values the checkpoint was trained with (key -> canonical text); nullopt for a checkpoint
// written before they were recorded. A key added to Sugar after the checkpoint was written takes its
// config::keys_added_later() value.
std::optional<std::map<std::string, std::string>> recorded_math_values(const io::Metadata& metadata,
                                                                       const std::string& source);

// A key whose value in `config` is not what the checkpoint recorded.
struct ConfigDifference {
  std::string key, value, recorded;
};
// The differences between `config` and what `metadata` recorded, keys in `ignored` aside; empty when
// they agree or the checkpoint recorded nothing (a checkpoint of an older Sugar).
std::vector<ConfigDifference> config_differences(const io::Metadata& metadata, const config::ExperimentConfig& config,
                                                 const std::string& source, const std::vector<std::string>& ignored = {});

}  // namespace sugar::train
