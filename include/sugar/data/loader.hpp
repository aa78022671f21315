#pragma once
// DataLoader: turns a dataset into batches for one epoch at a time, preparing the next batches on
// background threads while the model computes.
//
//   DataLoader loader(train_set, ImageTransform(augment, normalization, seed), {.batch_size = 128, .seed = seed});
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (auto batch = loader.next()) step(batch->images, batch->labels);
//   }
//
// Determinism: the epoch's sample order is shuffled_order(n, seed, epoch) (or 0..n-1 without
// shuffling) and each sample's augmentation depends only on (seed, epoch, sample index), so batch
// contents are bit-identical whatever the number of workers and however the threads are scheduled.
// Workers fill batches with plain loops (no OpenMP), so they do not compete with the model's OpenMP
// team for more than their own thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "sugar/data/dataset.hpp"
#include "sugar/data/mixing.hpp"
#include "sugar/data/transforms.hpp"
#include "sugar/tensor.hpp"

namespace sugar::data {

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;  // drop the last batch when it would be smaller than batch_size
  int workers = 1;         // background threads; 0 prepares each batch in next() on the caller's thread
  int prefetch = 2;        // batches prepared ahead of the consumer (at least `workers` are allowed)
  uint64_t seed = 0;       // keys the shuffle ("shuffle/epoch<k>"); augmentation uses the transform's seed
  // Data parallelism: the epoch is cut into global batches of batch_size exactly as with one process,
  // and this loader yields only part `shard_index` of `shard_count` of each: samples
  // [i*m/count, (i+1)*m/count) of a global batch of m samples, contiguous and as even as possible.
  // With mixing, parts start at even positions so that no mixed pair spans two parts: the m samples
  // are cut as ceil(m/2) pairs, [2*(i*q/count), 2*((i+1)*q/count)) with q = ceil(m/2), clipped to m.
  // A part may be empty (a last batch with fewer samples, or pairs, than parts): its Batch has no
  // images (every_part_has_samples says so).
  int shard_index = 0;
  int shard_count = 1;
  // Mixup / cutmix of each batch (data/mixing.hpp), drawn from `seed`; off by default.
  MixOptions mix;
};

struct Batch {
  Tensor images;                  // [N, C, H, W], plain f32
  std::vector<int32_t> labels;    // N
  std::vector<int64_t> indices;   // N dataset indices, in batch order
  int64_t batch_index = 0;        // position within the epoch
  int64_t global_size = 0;        // samples in the whole (global) batch: N unless the loader is sharded
  int64_t shard_offset = 0;       // position of this part's first sample within the global batch
  // Mixing (LoaderOptions::mix): each sample's target is own_weight of its label plus 1 - own_weight
  // of its partner's; empty when the batch was not mixed.
  std::vector<int32_t> partner_labels;
  double own_weight = 1.0;
  MixKind mix_kind = MixKind::none;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  bool mixed() const { return !partner_labels.empty(); }
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, ImageTransform transform, LoaderOptions options);
  ~DataLoader();  // stops and joins the workers, also mid-epoch
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Begins `epoch` (abandoning any epoch in progress); first_batch skips batches, for resuming.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch, or nullopt when it is over. An exception thrown while a worker
  // prepared this batch is re-thrown here (and ends the epoch).
  std::optional<Batch> next();
  // Stops the workers of the current epoch (next() then returns nullopt until start_epoch).
  void stop();

  int64_t batches_per_epoch() const;
  int64_t samples_per_epoch() const;  // without the dropped tail
  // Whether every part (shard) of a global batch of `global_count` samples gets at least one sample.
  bool every_part_has_samples(int64_t global_count) const;
  // The sample order of an epoch (what the batches concatenate to, before drop_last).
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }

  // Builds batch `batch_index` of an epoch whose order is `order`; what the workers run.
  Batch make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t batch_index) const;

 private:
  // Samples [first, second) of a global batch of global_count are part `part`'s.
  std::pair<int64_t, int64_t> part_bounds(int64_t part, int64_t global_count) const;
  struct EpochRun;
  std::shared_ptr<const Dataset> dataset_;
  ImageTransform transform_;
  LoaderOptions options_;
  std::unique_ptr<EpochRun> run_;
};

}  // namespace sugar::data
