#pragma once
// A run's epochs, from a position to the last epoch or a stop signal: the training steps, evaluation,
// neuron statistics, metrics.csv and neurons.csv rows, checkpoints, status.json and train.log
// (internal to sugar::train: train() and resume() call it once the run directory is theirs).
#include <string>

#include "sugar/train/metrics_csv.hpp"
#include "sugar/train/neurons_csv.hpp"
#include "sugar/train/trainer.hpp"
#include "sugar/train/training_position.hpp"
#include "session.hpp"

namespace sugar::train {

// Where a run's files go. Only rank 0 of a data-parallel run writes (`csv` and the others are then
// null on every other rank); `neurons` is also null when train.neuron_stats is off.
struct RunFiles {
  MetricsCsv* csv = nullptr;
  NeuronsCsv* neurons = nullptr;
};

// Trains `session` in `dir` from `start` (TrainingPosition{} for a new run): "finished", or
// "interrupted" by an agreed stop signal (checkpoint saved); a failure marks status.json failed and
// rethrows.
TrainResult run_training(Session& session, const std::string& dir, const TrainOptions& options,
                         const TrainingPosition& start, RunFiles files);

}  // namespace sugar::train
