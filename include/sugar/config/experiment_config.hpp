#pragma once
// The typed experiment: what a YAML config file says, resolved and validated. This header is the one
// place where the defaults live; a key missing from a config file takes the value written here.
//
// Every leaf field has a dotted key path ("optim.lr", "data.augment.crop_padding") that is used by
// config files, `--set key.path=value`, sweep grids, diff_keys and error messages alike. The list of
// key paths, in file order, is config_key_paths() (config_yaml.hpp).
//
// The defaults reproduce the configuration in the training issue's example (the standard CIFAR recipe:
// ResNet-18, SGD 0.1 with momentum 0.9 and weight decay 5e-4, cosine schedule, 200 epochs, batch 128),
// except that data augmentation is off unless a config asks for it (as in sugar::data::DataOptions),
// because the paper grid trains without it and a silent augmentation would change its results.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sugar/data/dataset.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/name_table.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/conv_algorithm.hpp"
#include "sugar/optim/lr_schedule.hpp"
#include "sugar/optim/optimizer.hpp"
#include "sugar/tensor.hpp"

namespace sugar::config {

// Closed vocabularies of training behaviour that only the trainer acts on; named here, the layer
// below it, because the config reads them (sugar/name_table.hpp). The others belong to the code that
// acts on them: optim::OptimizerKind, optim::ScheduleKind, DType, ops::ConvAlgoPolicy, nn::init::ConvInit.
enum class NonfinitePolicy { stop, skip_batch };  // train.on_nonfinite: "stop", "skip_batch"
const NameTable<NonfinitePolicy>& names_of(NonfinitePolicy);
enum class Recompute { automatic, on, off };  // train.recompute: "auto", "true", "false"
const NameTable<Recompute>& names_of(Recompute);

struct ModelConfig {
  std::string name = "resnet18";   // one of models::model_names() (built-in or registered)
  std::string activation = "relu"; // an activation spec, stored in canonical form (ActivationSpec::to_string)
  bool batch_norm = true;          // vgg*: BatchNorm after each conv; resnets always have it
  // pytorch_default | torchvision: how convolutions are initialised (nn/init.hpp says what each draws).
  // PyTorch's default is what the CIFAR reference code for these models uses (configs/paper/README.md);
  // run directories written before the key existed read as torchvision (keys_added_later()).
  nn::init::ConvInit init = nn::init::ConvInit::pytorch_default;
  // A safetensors file whose tensors replace every parameter, buffer and counter once the model is
  // initialised (e.g. a PyTorch state_dict, README "Starting from given weights"); empty = none. Only a
  // new run reads it (train/initial_weights.hpp says how strictly); a resume continues from its
  // checkpoint and never needs the file again. The path is not part of the math (moving the file
  // changes nothing); its contents are, through the next key.
  std::string init_from;
  // The SHA-256 of init_from's contents, 64 lowercase hex digits as sha256sum prints them. Left empty,
  // the trainer fills it in from the bytes it loads, so a run's config.yaml and checkpoints always
  // record what the run started from; given, the file must have it (a config can pin its weights).
  // A math key: runs from files with other contents are never grouped or resumed as one.
  std::string init_from_sha256;
};

struct OptimConfig {
  optim::OptimizerKind name = optim::OptimizerKind::sgd;  // sgd | adam | adamw
  double lr = 0.1;                        // > 0; the peak LR of the schedule
  double momentum = 0.9;                  // sgd: [0, 1)
  double dampening = 0.0;                 // sgd: [0, 1]
  bool nesterov = false;                  // sgd: needs momentum > 0 and dampening 0
  double weight_decay = 5e-4;             // >= 0; sgd/adam: L2 added to the gradient, adamw: decoupled
  std::vector<double> betas{0.9, 0.999};  // adam, adamw: two values in [0, 1)
  double eps = 1e-8;                      // adam, adamw: >= 0
  // all | weights: which parameters weight_decay applies to (optim::DecayScope); all = torch.optim's.
  optim::DecayScope weight_decay_on = optim::DecayScope::all;
  // > 0: gradients clipped to this global L2 norm before each step (optim/clip.hpp); 0 = off.
  double clip_grad_norm = 0.0;
};

struct ScheduleConfig {
  optim::ScheduleKind name = optim::ScheduleKind::cosine;  // constant | step | multistep | cosine | one_cycle
  int64_t warmup_epochs = 0;         // cosine: linear warm-up, < train.epochs
  int64_t step_size = 30;            // step: epochs between decays, >= 1
  double gamma = 0.1;                // step, multistep: decay factor, > 0
  std::vector<int64_t> milestones;   // multistep: epochs at which the LR decays, increasing, >= 1
  double eta_min = 0.0;              // cosine: final LR, >= 0
  double pct_start = 0.3;            // one_cycle: fraction of steps spent increasing the LR, (0, 1)
  double div_factor = 25.0;          // one_cycle: initial LR = lr / div_factor, > 0
  double final_div_factor = 1e4;     // one_cycle: final LR = initial LR / final_div_factor, > 0
};

struct TrainConfig {
  int64_t epochs = 200;                  // >= 1
  int64_t batch_size = 128;              // >= 1
  int64_t eval_batch_size = 256;         // >= 1
  int threads = 0;                       // 0 = OpenMP's default (every core); >= 0
  DType dtype = DType::f32;              // f32 | bf16
  double label_smoothing = 0.0;          // [0, 1)
  // auto | direct | winograd (auto: per layer the faster, timed once per machine; ops/conv_algorithm.hpp)
  ops::ConvAlgoPolicy conv_algo = ops::ConvAlgoPolicy::automatic;
  int64_t checkpoint_every_steps = 0;    // 0 = checkpoint at the end of each epoch only; >= 0
  NonfinitePolicy on_nonfinite = NonfinitePolicy::stop;  // stop | skip_batch
  bool sync_bn = false;                  // synchronise batch-norm statistics across processes
  int64_t eval_every = 1;                // evaluate on the test set every N epochs (and after the last); >= 1
  bool neuron_stats = true;              // write neurons.csv: dead units and gradients per activation site
  Recompute recompute = Recompute::automatic;  // auto | true | false: recompute batch-norm + activation outputs in
                                         // the backward instead of keeping them (less memory, same values;
                                         // sugar/saved_tensor.hpp); auto: for f32 only (recompute_enabled)
};

// Whether train.recompute turns recomputation on. auto recomputes for f32 and keeps the tensors for
// bf16: bf16 tensors are half the size, so recomputation saves half the memory, while its time is a
// larger share of bf16's faster step (measured on this project's reference machine, ResNet-18 / VGG-16
// at batch 128: keeping them is 2-4% faster and holds 20% / 9% more memory, still below f32's peak).
bool recompute_enabled(Recompute recompute, DType dtype);
inline bool recompute_enabled(const TrainConfig& train) { return recompute_enabled(train.recompute, train.dtype); }

// One axis of a sweep grid: a key path and the values it takes, each kept as the YAML scalar text
// written in the config ("relu", "sugar(surrogate=bsilu)", "0"). Every value has been checked to be
// valid for its key; expanding the grid is the sweep command's job.
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
  bool operator==(const SweepAxis&) const = default;
};

struct ExperimentConfig {
  std::string name;    // names the run directory (runs/<name>); load_config defaults it to the file's stem
  uint64_t seed = 0;
  ModelConfig model;
  // data: DataOptions' own defaults (data/registry.hpp): cifar10, root "" (= data::default_root(name)),
  // pad_to 32, coarse_labels false, image_size 32, train_limit 0 and test_limit 0 (= everything),
  // val_split 0 (no validation set), mean/std empty (= the dataset's documented values), augment off
  // (crop_padding 0, hflip false, hflip_probability 0.5, cutout 0).
  data::DataOptions data;
  OptimConfig optim;
  ScheduleConfig schedule;
  TrainConfig train;
  std::vector<SweepAxis> sweep;  // in file order; empty = a single run
};

// A key added after run directories and checkpoints were already being written. A run directory's
// config.yaml (load_run_config) or a checkpoint's recorded math values (train/training_position.hpp)
// that do not mention it take `value_before`: the value that reproduces what such a run computed.
struct KeyAddedLater {
  std::string path;
  std::string value_before;
};
// {model.init: torchvision}.
const std::vector<KeyAddedLater>& keys_added_later();

// Every field equal (doubles bit-for-bit; the activation spec in canonical form).
bool operator==(const ExperimentConfig& a, const ExperimentConfig& b);

// The key paths whose values differ between a and b, in config_key_paths() order; "sweep" stands for
// the whole grid.
std::vector<std::string> diff_keys(const ExperimentConfig& a, const ExperimentConfig& b);

// Keys that do not change what a run computes, only where it is stored, how fast it runs or how often
// it reports: the field rows marked so (ConfigField::changes_math, config_schema.cpp: name,
// model.init_from, data.root, train.eval_batch_size, train.threads, train.conv_algo,
// train.checkpoint_every_steps, train.eval_every, train.neuron_stats, train.recompute), in the table's
// order, then sweep. Two runs differing only in these keys train the same model on the same data with the same
// updates (model.init_from says where the initial weights were read; what they were is the math key
// model.init_from_sha256); with other thread counts or convolution algorithms the numbers differ by
// floating-point rounding only (train.neuron_stats only watches: its autograd node passes each
// gradient through unchanged; in evaluation a watched activation runs after its convolution instead of
// fused into it, nn/fused_inference.hpp, which can change an evaluation metric by rounding, never the
// training). Reports ignore these keys when
// grouping runs; `--resume` accepts changes to them. The seed is not in the list: it changes the math
// (reports treat it separately, as the replicate index).
const std::vector<std::string>& non_math_keys();

// Every key that changes the math (all but non_math_keys()) with its value as canonical text, in
// table order: what a checkpoint records so that a resume can tell whether the config changed.
std::vector<std::pair<std::string, std::string>> math_values(const ExperimentConfig& config);

// Checks what can only be checked once the dataset is open: the crop padding and cutout against the
// image size, the number of mean/std values against the channel count. Throws sugar::Error (usage)
// naming the key, e.g. "data.augment.crop_padding: 32 is not smaller than the 32x32 images".
void validate_against(const ExperimentConfig& config, const data::ImageShape& shape);

}  // namespace sugar::config
