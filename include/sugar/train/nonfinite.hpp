#pragma once
// What the trainer needs for train.on_nonfinite (stop | skip_batch): finding a NaN or Inf in the
// gradients before the optimizer applies them, and undoing what a rejected batch's forward pass did
// to the model's state.
//
// A training forward updates BatchNorm's running statistics and num_batches_tracked before anyone
// knows whether the loss is finite; skipping such a batch must put them back, or one bad batch
// poisons the running statistics that evaluation (and every later epoch) normalises with.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sugar/nn/module.hpp"
#include "sugar/tensor.hpp"

namespace sugar::train {

// True when every logical element of `t` is finite (any dtype, any layout; blocked layouts are read
// through a plain copy so padding lanes never count).
bool all_finite(const Tensor& t);

// The name of the first parameter (in `params` order) whose gradient holds a NaN or Inf; nullopt when
// all are finite. Parameters without a gradient are skipped.
std::optional<std::string> first_nonfinite_gradient(const nn::NamedTensors& params);

// A copy of a module's buffers (running_mean, running_var, ...) and counters (num_batches_tracked),
// taken by save() and written back, in place, by restore(). The buffers' storage is reused between
// saves, so taking a snapshot every step allocates nothing after the first.
class StateSnapshot {
 public:
  explicit StateSnapshot(nn::Module& model);
  void save();
  void restore() const;

 private:
  nn::NamedTensors buffers_;
  nn::NamedCounters counters_;
  std::vector<std::vector<char>> saved_buffers_;
  std::vector<int64_t> saved_counters_;
  bool saved_ = false;
};

}  // namespace sugar::train
