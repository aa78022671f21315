#pragma once
// One training session: everything a run trains with, built from its config before anything is
// written (internal to sugar::train: train() and resume() build one, the training run uses it).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sugar/dist/communicator.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/gradient_allreduce.hpp"
#include "sugar/train/run_info.hpp"

namespace sugar::train {

// Everything a run trains with, built from the config.
struct Session {
  config::ExperimentConfig config;
  data::DataSplits data;
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<data::DataLoader> train_loader;
  std::unique_ptr<data::DataLoader> eval_loader;
  std::optional<optim::LrSchedule> schedule;
  DType dtype = DType::f32;
  std::string eval_split;
  // Data parallelism: the ranks training this model, and (with more than one) the gradient averaging.
  dist::Communicator* ranks = &dist::single_process();
  std::unique_ptr<GradientAllReducer> gradient_allreduce;
};

// The ranks of this training: MPI's world under mpirun, else this process alone. A program built
// without MPI but started by mpirun would have every rank train the whole run alone and write the same
// run directory: refused (sugar::Error, usage).
dist::Communicator& training_ranks();

// The model's batch norms, in module order.
std::vector<nn::BatchNorm2d*> batch_norm_layers(nn::Module& model);

// Data, model, optimizer, loaders and schedule from the config; with several ranks, the gradient
// averaging (and train.sync_bn's communicator in every batch norm).
Session build_session(const config::ExperimentConfig& config, dist::Communicator& ranks);

// What run.json records about the session; `first_epoch` is where this command starts.
RunProvenance provenance(const Session& s, int64_t first_epoch, const std::string& command);

// model.init_from: the file's tensors replace the drawn initialisation of a new run, and the run's
// config takes the digest of the bytes loaded (model.init_from_sha256), so that config.yaml and every
// checkpoint record what the run started from (train/initial_weights.hpp). Only train() calls this:
// a resume's checkpoint holds the weights already.
void start_from_initial_weights(Session& s);

}  // namespace sugar::train
