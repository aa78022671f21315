#pragma once
// From an ExperimentConfig to the objects a run trains with: model, optimizer, LR schedule, loaders.
// Shared by `sugar train`, `sugar eval` and anything else that needs a model exactly as a run built it.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/data/loader.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/optim/lr_schedule.hpp"
#include "sugar/optim/optimizer.hpp"
#include "sugar/tensor.hpp"

namespace sugar::train {

// What a model is sized for: its input images and its classes.
struct ModelInput {
  data::ImageShape shape;
  int64_t num_classes = 0;
};

// The model input the config's dataset documents (data::expected_image_shape, expected_num_classes),
// known without reading a file: what `sugar bench` and `sugar tune --model` build for. `classes`, when
// given, replaces the class count (image folders document none: without it, a usage error).
ModelInput documented_model_input(const config::ExperimentConfig& config, std::optional<int64_t> classes = {});

// The model the config names, sized for `input` (or the loaded dataset's), initialised from the
// config's seed, its convolutions running under train.conv_algo.
std::shared_ptr<nn::Module> build_model(const config::ExperimentConfig& config, const ModelInput& input);
std::shared_ptr<nn::Module> build_model(const config::ExperimentConfig& config, const data::DataSplits& data);

// SGD, Adam or AdamW over the model's parameters with the config's hyper-parameters. With
// optim.weight_decay_on weights, two groups: the weights of every Conv2d and Linear with the decay,
// everything else (norms, biases, layer scales) without.
std::unique_ptr<optim::Optimizer> build_optimizer(const config::OptimConfig& config, nn::Module& model);

// The LR schedule, stepped once per iteration: epoch counts of the config (step_size, milestones,
// warmup_epochs, train.epochs) are multiplied by `iterations_per_epoch` (an overflow, and anything else
// the schedule rejects, is a sugar::Error of kind usage naming the key).
optim::LrSchedule build_schedule(const config::ExperimentConfig& config, int64_t iterations_per_epoch);

// Training loader: shuffled, augmented, keyed by the config's seed. Evaluation loader: in order,
// normalised only. Data parallelism: both yield this rank's part of every global batch
// (data::LoaderOptions::shard_index); a training batch that the ranks cannot split evenly is an error.
std::unique_ptr<data::DataLoader> build_train_loader(const config::ExperimentConfig& config,
                                                     const data::DataSplits& data,
                                                     const dist::Communicator& ranks = dist::single_process());
std::unique_ptr<data::DataLoader> build_eval_loader(const config::ExperimentConfig& config,
                                                    std::shared_ptr<const data::Dataset> dataset,
                                                    const data::Normalization& normalization,
                                                    const dist::Communicator& ranks = dist::single_process());

}  // namespace sugar::train
