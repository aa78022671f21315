#pragma once
// Checkpoints: a model's state and its optimizer's, in one safetensors file.
//
//   model tensors      exactly PyTorch's state_dict names and shapes: parameters and buffers as F32
//                      (`layer1.0.conv1.weight`, `bn1.running_var`), counters as I64 scalars of shape []
//                      (`bn1.num_batches_tracked`), so torch loads them with strict=True once the
//                      `optim.` entries are dropped;
//   optimizer state    `optim.` + Optimizer::named_state() names as F32 (`optim.conv1.weight.momentum_buffer`)
//                      and `optim.` + named_counters() names as I64 scalars (`optim.fc.weight.step`);
//   __metadata__       text: the caller's entries (epoch, step, best metric, ...) plus
//                      `optimizer` (its type name) and `rng_calls` (a JSON object: module path -> the
//                      training calls of each Dropout and parameter-free Activation, whose random draws
//                      are keyed by that count, so a resumed run draws the same masks) and, once the
//                      model has run, `conv_algorithms` (nn::conv_algorithm_choices_json: the
//                      algorithm each Conv2d chose; loading pins them, so a resumed run and an
//                      evaluation compute as the run did).
//
// Loading validates everything before it modifies anything: a checkpoint of another model (missing
// or unexpected names, other shapes or types) or of another optimizer is a sugar::Error naming the
// file and the first differences, and leaves model and optimizer untouched. Values are copied into
// the existing parameter tensors, so the handles held by layers and the optimizer stay valid.
#include <string>

#include "sugar/io/safetensors.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/optim/optimizer.hpp"

namespace sugar::train {

// Prefix of optimizer entries.
inline constexpr const char* kOptimizerPrefix = "optim.";

// Writes the checkpoint atomically. `optimizer` may be null (model only). Metadata keys `optimizer`,
// `rng_calls` and `conv_algorithms` are Sugar's; the caller must not set them.
void save_checkpoint(const std::string& path, nn::Module& model, const optim::Optimizer* optimizer,
                     const io::Metadata& metadata = {});

// Validates `file` against the model (and optimizer, when not null), then loads it. Returns the
// metadata. An optimizer checkpoint loaded with a null optimizer ignores the `optim.` entries.
io::Metadata load_checkpoint(const io::SafetensorsFile& file, nn::Module& model, optim::Optimizer* optimizer);
io::Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer);

}  // namespace sugar::train

namespace sugar::train {

// The bytes save_checkpoint writes (for writing one checkpoint to several files).
std::string checkpoint_bytes(nn::Module& model, const optim::Optimizer* optimizer, const io::Metadata& metadata = {});

// The model's part of a safetensors file, shared by load_checkpoint and model.init_from
// (train/initial_weights.hpp): exactly the model's parameters and buffers (the types below, the
// model's shapes) and its counters (I64 scalars), by PyTorch state_dict names. Entries under
// kOptimizerPrefix are not the model's and are passed over.
enum class ModelEntryTypes {
  f32_or_bf16,  // checkpoints: BF16 is widened exactly to the f32 the model holds
  f32,          // model.init_from: initial weights as given, never rounded copies (initial_weights.hpp)
};
// Throws sugar::Error naming the file: first the missing and unexpected names (counts and the first few
// of each, in one message), else the entries of another type or shape. Modifies nothing.
void check_model_entries(const io::SafetensorsFile& file, nn::Module& model, ModelEntryTypes types);
// Copies the checked entries into the model's existing tensors and counters (handles stay valid).
void load_model_entries(const io::SafetensorsFile& file, nn::Module& model);

}  // namespace sugar::train
