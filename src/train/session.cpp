#include "session.hpp"

#include <spdlog/spdlog.h>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/runtime.hpp"
#include "sugar/saved_tensor.hpp"
#include "sugar/train/initial_weights.hpp"

namespace sugar::train {

// DDP's first bucket is small so that communication starts early; 4 MiB gives ResNet-18's 45 MB of
// gradients a dozen buckets to overlap with the backward pass.
constexpr int64_t kAllReduceBucketBytes = int64_t{4} << 20;

dist::Communicator& training_ranks() {
  if (dist::started_by_mpi_launcher() && !dist::built_with_mpi()) {
    throw Error("started by an MPI launcher (mpirun/srun), but this sugar was built without MPI; install "
                "libopenmpi-dev and rebuild (scripts/setup.sh), or run it without the launcher",
                ErrorKind::usage);
  }
  return dist::world();
}

std::vector<nn::BatchNorm2d*> batch_norm_layers(nn::Module& model) {
  std::vector<nn::BatchNorm2d*> layers;
  for (const auto& [path, module] : model.named_modules())
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module)) layers.push_back(bn);
  return layers;
}

Session build_session(const config::ExperimentConfig& config, dist::Communicator& ranks) {
  keep_large_blocks_in_the_heap();
  Session s;
  s.config = config;
  s.ranks = &ranks;
  s.dtype = config.train.dtype;
  if (config.train.threads > 0) set_num_threads(config.train.threads);
  autograd::set_recompute_enabled(config::recompute_enabled(config.train));
  s.data = data::load_data(config.data);
  config::validate_against(config, s.data.shape);
  s.model = build_model(config, s.data);
  s.optimizer = build_optimizer(config.optim, *s.model);
  s.train_loader = build_train_loader(config, s.data, ranks);
  const bool has_validation = s.data.validation != nullptr;
  s.eval_split = has_validation ? "val" : "test";
  s.eval_loader =
      build_eval_loader(config, has_validation ? s.data.validation : s.data.test, s.data.normalization, ranks);
  if (ranks.size() > 1) {
    if (config.train.sync_bn)
      for (nn::BatchNorm2d* bn : batch_norm_layers(*s.model)) bn->set_sync(&ranks);
    s.gradient_allreduce =
        std::make_unique<GradientAllReducer>(ranks, s.model->named_parameters(), kAllReduceBucketBytes);
  }
  s.schedule = build_schedule(config, s.train_loader->batches_per_epoch());
  return s;
}

RunProvenance provenance(const Session& s, int64_t first_epoch, const std::string& command) {
  RunProvenance p;
  p.dtype = name_of(s.config.train.dtype);
  p.model_name = s.config.model.name;
  p.model_parameters = nn::count_parameters(*s.model);
  p.train_samples = s.data.train->size();
  p.eval_samples = s.eval_loader->dataset().size();
  p.eval_split = s.eval_split;
  p.classes = s.data.num_classes;
  p.image_shape = {s.data.shape.channels, s.data.shape.height, s.data.shape.width};
  p.threads = num_threads();
  p.ranks = s.ranks->size();
  p.communicator = s.ranks->description();
  p.first_epoch = first_epoch;
  p.command = command;
  return p;
}

void start_from_initial_weights(Session& s) {
  if (s.config.model.init_from.empty()) return;
  const InitialWeights weights = read_initial_weights(s.config.model);
  check_ranks_read_the_same_file(*s.ranks, weights.sha256);
  const size_t optimizer_entries = load_initial_weights(weights.file, *s.model);
  s.config.model.init_from_sha256 = weights.sha256;
  if (s.ranks->rank() != 0) return;
  spdlog::info("initial weights from {} (sha256 {})", s.config.model.init_from, weights.sha256);
  if (optimizer_entries > 0)
    spdlog::info("{}: its {} optimizer entries are not used: the run starts with a fresh optimizer",
                 s.config.model.init_from, optimizer_entries);
}

}  // namespace sugar::train
