#pragma once
// YAML config files <-> ExperimentConfig.
//
//   name: resnet18-cifar10-sugar-bsilu
//   seed: 0
//   model: {name: resnet18, activation: "sugar(surrogate=bsilu)"}
//   data: {name: cifar10, augment: {crop_padding: 4, hflip: true}}
//   optim: {name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 5.0e-4}
//   schedule: {name: cosine}
//   train: {epochs: 200, batch_size: 128, threads: 2}
//   sweep:                               # optional grid: key path -> list of values
//     model.activation: [relu, "sugar(surrogate=bsilu)"]
//     seed: [0, 1, 2]
//
// Every key may be left out (its default is in experiment_config.hpp). Loading checks everything that
// can be checked without opening the dataset, and every problem is a sugar::Error of kind usage whose
// message is one line: where (file:line:column, or the --set that caused it), the key path, what is
// wrong and what was expected, e.g.
//
//   configs/x.yaml:3:5: optim.lrr: unknown key; did you mean lr? (allowed: name, lr, momentum, ...)
//   configs/x.yaml:4:9: train.batch_size: must be >= 1, got 0
//   --set optim.lr=abc: optim.lr: expected a number, got 'abc'
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/config/experiment_config.hpp"

namespace sugar::config {

// The text of a config file: a regular file (symlinks followed) of at most 16 MiB. Anything else is a
// usage error "<path>: cannot read the config file: <why>".
std::string read_config_file(const std::string& path);

// Loads `path`, applies `overrides` ("key.path=value", the value read as a YAML scalar or flow
// sequence, e.g. "optim.betas=[0.9, 0.99]", "sweep.seed=[0, 1]"), then validates. An override of an
// unknown key, a malformed override or the same key overridden twice with different values is an
// error naming the override. `name` defaults to the file's stem when the config does not set it.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// A run directory's config.yaml, read as load_config reads a file, except that a key the file does not
// mention because it was written before the key existed takes the value that reproduces that run
// (keys_added_later(), experiment_config.hpp) instead of today's default. Every reader of a run
// directory (resume, eval, report, sweep) uses this.
ExperimentConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides = {});

// As load_config, from text; `source_name` stands for the file in messages and gives the default name.
ExperimentConfig load_config_text(std::string_view text, const std::string& source_name,
                                  const std::vector<std::string>& overrides = {});

// The fully resolved config as YAML: every key, defaults included, the activation in canonical form,
// the sweep grid as written. load_config_text(to_yaml(c), ...) == c.
std::string to_yaml(const ExperimentConfig& config);

// Every leaf key path, in the order to_yaml writes them ("name", "seed", "model.name", ...).
const std::vector<std::string>& config_key_paths();

}  // namespace sugar::config
