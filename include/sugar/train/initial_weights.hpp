#pragma once
// model.init_from: a new run starts from the tensors of a safetensors file instead of its drawn
// initialisation (a PyTorch state_dict written as safetensors, or a Sugar checkpoint).
//
// What is accepted, strictly (train/checkpoint.hpp's check_model_entries, as PyTorch's strict=True):
//   - exactly the model's parameter, buffer and counter names (missing and unexpected ones are listed
//     in one error), each of the model's shape;
//   - parameters and buffers as F32, every value finite (a NaN or Inf is refused naming the tensor and
//     the element). BF16 is refused: Sugar's weights are f32 even in bf16 training, so a BF16 file is
//     a rounded copy of some model, and starting from it without a word would train from weights
//     nobody had; convert it knowingly (`.float()`) if that is what is meant;
//   - counters (BatchNorm's num_batches_tracked) as I64 scalars >= 0, and loaded: PyTorch's
//     state_dict() always holds them and its strict loading demands them; they only count (Sugar's
//     batch norm uses them for momentum=None alone), so a file from a fresh PyTorch model (0) and one
//     from a trained model load alike;
//   - entries under `optim.` (a Sugar checkpoint's optimizer state) are passed over: the new run starts
//     a fresh optimizer. A checkpoint's metadata (convolution algorithms, random-call counters) is
//     passed over too: the run's own train.conv_algo and counters apply.
// Nothing in the model changes unless every check passes.
//
// The file is read once, as any input (io/regular_file.hpp: a regular file after symlinks, at most
// kMaxCheckpointFileBytes; io/safetensors.hpp: a header that lies is refused), and the bytes hashed
// are the bytes loaded, so the digest the run records is that of the weights it started from.
//
// The digest is the run's record of its start (model.init_from_sha256, a math key: config.yaml and
// every checkpoint's config_math carry it): runs from files with other contents never group in a
// report, a sweep never takes one for the other, and a resume is refused when config.yaml's digest was
// edited. A resume never reads the file: the checkpoint holds the weights, so the file may have been
// moved, changed or deleted since (its recorded digest still names what the run started from).
#include <string>

#include "sugar/config/experiment_config.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::train {

struct InitialWeights {
  io::SafetensorsFile file;
  std::string sha256;  // of the file's bytes, as sha256sum prints it
};

// Reads model.init_from and computes its digest; when model.init_from_sha256 is given, the file must
// have it. Throws sugar::Error naming the key and the file (unreadable, not safetensors, another digest).
InitialWeights read_initial_weights(const config::ModelConfig& model);

// Checks `file` against the model as described above, then copies it in. Returns the number of
// optimizer entries passed over.
size_t load_initial_weights(const io::SafetensorsFile& file, nn::Module& model);

// Data parallelism: every rank reads the file itself, and a rank that read other bytes (another host,
// or the file replaced in between) would train another model. Every rank calls this with its digest;
// each throws sugar::Error when any rank's differs.
void check_ranks_read_the_same_file(dist::Communicator& ranks, const std::string& sha256);

// `config` with model.init_from_sha256 filled in from the file, as a run of it records it (unchanged
// without model.init_from): for comparing a config with run directories before anything trains (the
// sweep). Reads the file; throws as read_initial_weights.
config::ExperimentConfig with_init_from_digest(config::ExperimentConfig config);

}  // namespace sugar::train
