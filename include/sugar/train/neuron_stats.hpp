#pragma once
// Dead-unit statistics per activation site, for the claim that SUGAR revives dead ReLUs (issue 5).
//
// A NeuronStats attaches itself as the observer (nn::ActivationObserver) of every activation site of a
// model, so it sees each site's input x, the pre-activation, whatever the activation is:
//
//   Activation statistics, over a measurement pass (begin_measurement .. end_measurement; forwards
//   without gradients: the trainer's pass over the test set, in eval mode, so BatchNorm normalises
//   with its running statistics, as at test time):
//     dead_fraction  channels whose x is not > 0 for any element of any image (any position, any
//                    sample), over the site's channels. Defined by x, not by f(x), so it means the same
//                    for every activation: a dead channel of a ReLU net outputs 0 everywhere.
//     sparsity       elements with x not > 0 (x <= 0; NaN counts too), over all the elements seen.
//
//   Gradient statistics, over the training steps since reset_gradients() (the trainer resets them at
//   the start of each epoch). The gradient watched is dL/dx, what the activation's backward hands to
//   its input: that is what "reaches" the pre-activation, and what SUGAR changes (its backward uses
//   the surrogate's derivative where ReLU's is 0). L is the loss backward() started from (the batch
//   mean cross-entropy in training).
//     grad_norm              sqrt(sum over steps of ||dL/dx||^2): the Frobenius norm of the epoch's
//                            per-step gradients stacked, i.e. the root of the summed squared norms.
//     grad_nonzero_fraction  the site's units that received a non-zero gradient at least once, over
//                            its units. A unit is one element position (c, h, w) of the site (a
//                            channel for [N, C] sites): it counts as reached if any sample of any step
//                            gave it dL/dx != 0 (NaN counts as non-zero). A ReLU unit whose x stayed
//                            <= 0 for every training sample of the epoch stays unreached.
//
// Watching gradients: in a forward with gradients enabled, the observer puts x behind an autograd node
// that passes the gradient through unchanged (same tensor, same accumulation order), reading it on the
// way: one pass over dL/dx per site per step, parallel over (channel block, spatial chunk). Blocked
// layouts (nChw16c) are read in place and their padding lanes skipped; other layouts go through
// channel_view's plain f32 copy, as do bf16 tensors.
//
// Determinism: partial sums are kept per (channel block, spatial chunk) and added in a fixed order,
// so the statistics do not depend on the thread count or scheduling.
//
//   NeuronStats stats(*model);            // attaches; the destructor detaches
//   stats.reset_gradients();
//   ... training steps (forward, backward) ...
//   stats.begin_measurement();
//   ... forwards over the test set under autograd::NoGradGuard ...
//   stats.end_measurement();
//   for (const SiteNeuronStats& s : stats.results()) ...
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sugar/data/loader.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/tensor.hpp"

namespace sugar::train {

struct SiteNeuronStats {
  std::string site;                   // the site's dotted path: act1, layer1.0.act2, features.2
  int64_t channels = 0;               // seen in the measurement pass (0: the site saw no input)
  double dead_fraction = 0;           // [0, 1]; NaN when the site saw no input in the measurement
  double sparsity = 0;                // [0, 1]; NaN likewise
  double grad_norm = 0;               // >= 0; 0 when no gradient reached the site
  double grad_nonzero_fraction = 0;   // [0, 1]; 0 when no gradient reached the site
};

class NeuronStats {
 public:
  // Attaches to every activation site of `model` (nn::activation_sites order, which is model order).
  // The model must outlive this object. Throws sugar::Error when a site already has an observer.
  explicit NeuronStats(nn::Module& model);
  ~NeuronStats();  // detaches from every site
  NeuronStats(const NeuronStats&) = delete;
  NeuronStats& operator=(const NeuronStats&) = delete;

  const std::vector<std::string>& sites() const;

  // Zeroes the gradient statistics.
  void reset_gradients();
  // Zeroes the activation statistics and records the inputs of every forward without gradients until
  // end_measurement(). Forwards with gradients enabled are never counted here.
  void begin_measurement();
  void end_measurement();
  // Seconds spent recording inputs since begin_measurement(): the measurement's own cost inside a
  // pass that also does something else (the trainer's evaluation).
  double measurement_seconds() const;

  // One entry per site, in sites() order.
  std::vector<SiteNeuronStats> results() const;

  // Data parallelism: the trainer starts each rank's backward from its share of the global batch's
  // mean loss, so the dL/dx seen here is already the global loss's and grad_norm means the same
  // whatever the number of ranks.
  // Merges the statistics of every rank (each measured its shard of the test set and trained on its
  // shards of the batches): counts and sums added, "seen positive" and "reached" or-ed. Every rank
  // calls it at the same point; afterwards results() is the same on all of them.
  void combine_ranks(dist::Communicator& communicator);

 private:
  struct Site;
  struct State;
  std::unique_ptr<State> state_;
};

// The separate measurement pass: every batch of `loader`'s epoch 0 through `model` in eval mode without
// gradients, with `dtype` inputs, recorded by `stats` (begin_measurement .. end_measurement). Leaves
// the model in eval mode; the caller restores training mode.
void measure_activations(nn::Module& model, data::DataLoader& loader, DType dtype, NeuronStats& stats);

}  // namespace sugar::train
