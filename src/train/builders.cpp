#include "sugar/train/builders.hpp"

#include <algorithm>
#include <stdexcept>

#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/optim/adam.hpp"
#include "sugar/optim/sgd.hpp"

namespace sugar::train {

ModelInput documented_model_input(const config::ExperimentConfig& config, std::optional<int64_t> classes) {
  const std::optional<data::ImageShape> shape = data::expected_image_shape(config.data);
  if (!shape) throw Error("data.name: unknown dataset '" + config.data.name + "'", ErrorKind::usage);
  if (!classes) {
    const std::optional<int> documented = data::expected_num_classes(config.data);
    if (!documented)
      throw Error("data.name: " + config.data.name + " says its class count only in its files; give it (--classes K)",
                  ErrorKind::usage);
    classes = *documented;
  }
  return {*shape, *classes};
}

std::shared_ptr<nn::Module> build_model(const config::ExperimentConfig& config, const ModelInput& input) {
  models::ModelOptions options;
  options.name = config.model.name;
  options.activation = config.model.activation;
  options.batch_norm = config.model.batch_norm;
  options.init = config.model.init;
  options.num_classes = input.num_classes;
  options.in_channels = input.shape.channels;
  SUGAR_CHECK(input.shape.height == input.shape.width, "model: the models take square images, the dataset has ",
              input.shape.height, "x", input.shape.width);
  options.image_size = input.shape.height;
  std::shared_ptr<nn::Module> model = models::build_model(options);
  nn::initialize(*model, config.seed);
  nn::set_conv_algorithm(*model, config.train.conv_algo);
  return model;
}

std::shared_ptr<nn::Module> build_model(const config::ExperimentConfig& config, const data::DataSplits& data) {
  return build_model(config, ModelInput{data.shape, data.num_classes});
}

namespace {

// The optimizer's parameter groups: one, or, with weight_decay_on weights, the weights each module
// names as decayed (Module::decayed_weights: convolution, linear and attention projection weights)
// with the default decay and the rest (decay 0), each in the model's parameter order.
std::vector<optim::ParamGroup> parameter_groups(const config::OptimConfig& config, nn::Module& model) {
  if (config.weight_decay_on == optim::DecayScope::all) return {optim::ParamGroup{model.parameters(), {}, {}}};
  std::vector<const TensorImpl*> decayed;
  for (const auto& [path, module] : model.named_modules()) {
    for (const Tensor& weight : module->decayed_weights()) decayed.push_back(weight.impl());
  }
  optim::ParamGroup weights{{}, {}, {}}, others{{}, {}, 0.0};
  for (const Tensor& p : model.parameters())
    (std::find(decayed.begin(), decayed.end(), p.impl()) != decayed.end() ? weights : others).params.push_back(p);
  std::vector<optim::ParamGroup> groups;
  for (optim::ParamGroup* g : {&weights, &others})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

}  // namespace

std::unique_ptr<optim::Optimizer> build_optimizer(const config::OptimConfig& config, nn::Module& model) {
  using optim::OptimizerKind;
  std::vector<optim::ParamGroup> params = parameter_groups(config, model);
  if (config.name == OptimizerKind::sgd) {
    optim::SgdOptions options;
    options.lr = config.lr;
    options.momentum = config.momentum;
    options.dampening = config.dampening;
    options.nesterov = config.nesterov;
    options.weight_decay = config.weight_decay;
    return std::make_unique<optim::SGD>(std::move(params), options);
  }
  // adam, adamw
  SUGAR_CHECK(config.betas.size() == 2, "optim.betas: expected two values, got ", config.betas.size());
  optim::AdamWOptions options;  // AdamOptions plus AdamW's default decay, overwritten below
  options.lr = config.lr;
  options.betas = {config.betas[0], config.betas[1]};
  options.eps = config.eps;
  options.weight_decay = config.weight_decay;
  if (config.name == OptimizerKind::adam)
    return std::make_unique<optim::Adam>(std::move(params), static_cast<optim::AdamOptions>(options));
  return std::make_unique<optim::AdamW>(std::move(params), options);
}

namespace {

// epochs x iterations per epoch, as steps. The config bounds epochs (train.epochs <= 10^6) and the
// data bounds the iterations, so this cannot overflow; checked all the same, because an overflow here
// became a negative step count ("total_iters must be > 0, got -4") instead of a usage error.
int64_t epochs_to_steps(int64_t epochs, int64_t iterations_per_epoch, const char* key) {
  int64_t steps = 0;
  if (__builtin_mul_overflow(epochs, iterations_per_epoch, &steps))
    throw Error(std::string(key) + ": " + std::to_string(epochs) + " epochs of " + std::to_string(iterations_per_epoch) +
                    " steps is more steps than a 64-bit count holds; expected fewer epochs",
                ErrorKind::usage);
  return steps;
}

optim::LrSchedule make_schedule(const config::ExperimentConfig& config, int64_t ipe) {
  const config::ScheduleConfig& s = config.schedule;
  const double lr = config.optim.lr;
  const int64_t total = epochs_to_steps(config.train.epochs, ipe, "train.epochs");
  switch (s.name) {
    case optim::ScheduleKind::constant:
      return optim::LrSchedule::constant(lr);
    case optim::ScheduleKind::step:
      return optim::LrSchedule::step(lr, epochs_to_steps(s.step_size, ipe, "schedule.step_size"), s.gamma);
    case optim::ScheduleKind::multistep: {
      std::vector<int64_t> milestones;
      for (int64_t epoch : s.milestones) milestones.push_back(epochs_to_steps(epoch, ipe, "schedule.milestones"));
      return optim::LrSchedule::multistep(lr, milestones, s.gamma);
    }
    case optim::ScheduleKind::cosine: {
      optim::CosineOptions options;
      options.total_iters = total;
      options.eta_min = s.eta_min;
      options.warmup_iters = epochs_to_steps(s.warmup_epochs, ipe, "schedule.warmup_epochs");
      return optim::LrSchedule::cosine(lr, options);
    }
    case optim::ScheduleKind::one_cycle: {
      optim::OneCycleOptions options;
      options.total_steps = total;
      options.pct_start = s.pct_start;
      options.div_factor = s.div_factor;
      options.final_div_factor = s.final_div_factor;
      // PyTorch cycles the momentum only when the optimizer has one; SGD without momentum has none.
      options.cycle_momentum = config.optim.name != optim::OptimizerKind::sgd || config.optim.momentum > 0;
      return optim::LrSchedule::one_cycle(lr, options);
    }
  }
  throw std::logic_error("make_schedule: a schedule kind without a builder");
}

}  // namespace

optim::LrSchedule build_schedule(const config::ExperimentConfig& config, int64_t iterations_per_epoch) {
  // Every value the schedule checks comes from the config, so what it rejects (a one-cycle phase
  // with no steps in it) is a usage error: exit 2, fix the config.
  try {
    return make_schedule(config, iterations_per_epoch);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::usage) throw;
    throw Error(std::string("schedule: ") + e.what(), ErrorKind::usage);
  }
}

std::unique_ptr<data::DataLoader> build_train_loader(const config::ExperimentConfig& config,
                                                     const data::DataSplits& data, const dist::Communicator& ranks) {
  if (config.train.batch_size % ranks.size() != 0) {
    throw Error("train.batch_size: the global batch of " + std::to_string(config.train.batch_size) +
                    " cannot be split evenly across " + std::to_string(ranks.size()) +
                    " ranks (expected a multiple of " + std::to_string(ranks.size()) + ")",
                ErrorKind::usage);
  }
  // Mixed pairs stay on one rank (data/mixing.hpp): every rank's part must hold whole pairs.
  const int64_t per_rank = config.train.batch_size / ranks.size();
  if (config.data.mix.enabled() && ranks.size() > 1 && per_rank % 2 != 0) {
    throw Error("train.batch_size: with data.mix each rank mixes pairs of its own images, so each of the " +
                    std::to_string(ranks.size()) + " ranks needs an even number of them; " +
                    std::to_string(config.train.batch_size) + " gives " + std::to_string(per_rank) +
                    " (expected a multiple of " + std::to_string(2 * ranks.size()) + ")",
                ErrorKind::usage);
  }
  data::LoaderOptions options;
  options.shard_index = ranks.rank();
  options.shard_count = ranks.size();
  options.batch_size = config.train.batch_size;
  options.shuffle = true;
  options.drop_last = false;
  options.seed = config.seed;
  options.mix = config.data.mix;
  return std::make_unique<data::DataLoader>(
      data.train, data::ImageTransform(config.data.augment, data.normalization, config.seed), options);
}

std::unique_ptr<data::DataLoader> build_eval_loader(const config::ExperimentConfig& config,
                                                    std::shared_ptr<const data::Dataset> dataset,
                                                    const data::Normalization& normalization,
                                                    const dist::Communicator& ranks) {
  data::LoaderOptions options;
  options.shard_index = ranks.rank();
  options.shard_count = ranks.size();
  options.batch_size = config.train.eval_batch_size;
  options.shuffle = false;
  options.seed = config.seed;
  return std::make_unique<data::DataLoader>(std::move(dataset),
                                            data::ImageTransform(data::AugmentOptions{}, normalization, config.seed),
                                            options);
}


}  // namespace sugar::train
