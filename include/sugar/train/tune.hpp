#pragma once
// `sugar tune`: measure auto's convolution algorithm choices of a model again, on demand, and keep
// them in this machine's store (ops/conv_algorithm_store.hpp) for every later run. Meant for a quiet
// machine: a run that met provisional choices (timings that could not decide, or a busy machine)
// says so and points here.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sugar/config/experiment_config.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/ops/conv_algorithm.hpp"
#include "sugar/tensor.hpp"

namespace sugar::train {

// A model and the input a training step of it sees: what the choices are measured on.
struct TuneTarget {
  std::shared_ptr<nn::Module> model;
  Shape input;  // [batch per process, channels, height, width]
  DType dtype = DType::f32;
  std::string description;  // "resnet18 on cifar10, batch 128, f32" for messages
};

// The target a config trains: its model built as `sugar train` builds it, sized for the image shape
// its dataset documents (no file is read), at train.batch_size / ranks images per process (an mpirun
// of `ranks` processes splits each batch), in train.dtype. `classes` replaces the dataset's class
// count (which sizes only the classifier, no convolution). Throws sugar::Error (usage) when the batch
// does not split evenly.
TuneTarget config_tune_target(const config::ExperimentConfig& config, int ranks,
                              std::optional<int64_t> classes = {});

// Runs one training step's forward and backward of target.model under auto on random inputs, with
// every layer's choice measured afresh and its stored entry replaced (the process's own cache of
// choices is cleared first). Returns each convolution's choice by module path.
std::vector<std::pair<std::string, ops::ConvLayerChoice>> tune_conv_algorithms(const TuneTarget& target);

}  // namespace sugar::train
