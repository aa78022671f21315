// DataLoader: batch contents independent of the worker count, every sample once per epoch, epochs
// differ, bounded prefetch, resuming mid-epoch, worker errors re-thrown, clean shutdown mid-epoch.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "sugar/data/loader.hpp"
#include "sugar/data/sampling.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::data;

namespace {

std::shared_ptr<InMemoryDataset> synthetic(int64_t n, ImageShape shape) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.numel()));
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>((k * 2654435761u) >> 13);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7) % 10);
  return std::make_shared<InMemoryDataset>("synthetic", shape, 10, std::vector<std::string>{}, std::move(pixels),
                                           std::move(labels));
}

// Wraps a dataset: counts pixel reads, can sleep per read and throw at one index.
class InstrumentedDataset final : public Dataset {
 public:
  InstrumentedDataset(std::shared_ptr<const Dataset> inner, int sleep_us = 0, int64_t throw_at = -1)
      : inner_(std::move(inner)), sleep_us_(sleep_us), throw_at_(throw_at) {}
  int64_t size() const override { return inner_->size(); }
  int num_classes() const override { return inner_->num_classes(); }
  ImageShape image_shape() const override { return inner_->image_shape(); }
  const std::vector<std::string>& class_names() const override { return inner_->class_names(); }
  std::string description() const override { return "instrumented"; }
  const uint8_t* pixels(int64_t i) const override {
    reads++;
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    if (i == throw_at_) throw Error("instrumented: cannot read sample " + std::to_string(i));
    return inner_->pixels(i);
  }
  int32_t label(int64_t i) const override { return inner_->label(i); }
  mutable std::atomic<int64_t> reads{0};

 private:
  std::shared_ptr<const Dataset> inner_;
  int sleep_us_;
  int64_t throw_at_;
};

std::vector<Batch> run_epoch(DataLoader& loader, int64_t epoch, int64_t first_batch = 0) {
  loader.start_epoch(epoch, first_batch);
  std::vector<Batch> out;
  while (auto batch = loader.next()) out.push_back(std::move(*batch));
  return out;
}

const ImageTransform kAugment({.crop_padding = 2, .hflip = true, .cutout = 2}, {{0.5f, 0.4f, 0.3f}, {0.2f, 0.3f, 0.4f}}, 5);

}  // namespace

TEST(DataLoader, BatchesAreIdenticalWithZeroOneAndThreeWorkers) {
  auto ds = synthetic(103, {3, 6, 5});
  std::vector<std::vector<Batch>> runs;
  for (int workers : {0, 1, 3}) {
    DataLoader loader(ds, kAugment, {.batch_size = 10, .workers = workers, .seed = 9});
    runs.push_back(run_epoch(loader, 2));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    ASSERT_EQ(runs[r].size(), runs[0].size());
    for (size_t b = 0; b < runs[0].size(); ++b) {
      EXPECT_EQ(runs[r][b].batch_index, static_cast<int64_t>(b));
      EXPECT_EQ(runs[r][b].indices, runs[0][b].indices);
      EXPECT_EQ(runs[r][b].labels, runs[0][b].labels);
      EXPECT_EQ(runs[r][b].images.to_vector(), runs[0][b].images.to_vector()) << "run " << r << " batch " << b;
    }
  }
}

TEST(DataLoader, EachSampleOncePerEpochWithItsTransformAndLabel) {
  auto ds = synthetic(103, {3, 6, 5});
  DataLoader loader(ds, kAugment, {.batch_size = 10, .workers = 2, .seed = 9});
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  const auto batches = run_epoch(loader, 4);
  ASSERT_EQ(batches.size(), 11u);
  std::vector<int> seen(103, 0);
  std::vector<int64_t> concatenated;
  for (const Batch& b : batches) {
    const int64_t n = static_cast<int64_t>(b.indices.size());
    EXPECT_EQ(b.images.shape(), (Shape{n, 3, 6, 5}));
    EXPECT_TRUE(b.images.is_plain());
    EXPECT_EQ(b.images.dtype(), DType::f32);
    const std::vector<float> images = b.images.to_vector();
    for (int64_t k = 0; k < n; ++k) {
      const int64_t index = b.indices[static_cast<size_t>(k)];
      ++seen[static_cast<size_t>(index)];
      concatenated.push_back(index);
      EXPECT_EQ(b.labels[static_cast<size_t>(k)], ds->label(index));
      std::vector<float> expected(90);
      kAugment.apply(*ds, index, 4, expected.data());
      EXPECT_TRUE(std::equal(expected.begin(), expected.end(), images.begin() + k * 90)) << "sample " << index;
    }
  }
  EXPECT_EQ(batches.back().indices.size(), 3u);
  EXPECT_EQ(seen, std::vector<int>(103, 1));
  EXPECT_EQ(concatenated, shuffled_order(103, 9, 4));
  EXPECT_EQ(concatenated, loader.epoch_order(4));
}

TEST(DataLoader, EpochsDifferAndDropLastAndNoShuffle) {
  auto ds = synthetic(103, {1, 4, 4});
  DataLoader loader(ds, ImageTransform(), {.batch_size = 10, .drop_last = true, .workers = 1, .seed = 1});
  EXPECT_EQ(loader.batches_per_epoch(), 10);
  EXPECT_EQ(loader.samples_per_epoch(), 100);
  const auto e0 = run_epoch(loader, 0), e1 = run_epoch(loader, 1);
  ASSERT_EQ(e0.size(), 10u);
  ASSERT_EQ(e1.size(), 10u);
  EXPECT_NE(e0[0].indices, e1[0].indices);
  EXPECT_EQ(run_epoch(loader, 0)[3].indices, e0[3].indices);  // repeatable

  DataLoader ordered(ds, ImageTransform(), {.batch_size = 50, .shuffle = false, .workers = 2});
  const auto batches = run_epoch(ordered, 7);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[2].indices, (std::vector<int64_t>{100, 101, 102}));
  EXPECT_EQ(batches[0].images.to_vector()[0], ds->get(0).image[0]);
}

TEST(DataLoader, ResumingAtABatchGivesTheRemainingBatches) {
  auto ds = synthetic(57, {3, 4, 4});
  DataLoader loader(ds, kAugment, {.batch_size = 8, .workers = 2, .seed = 3});
  const auto full = run_epoch(loader, 5);
  const auto tail = run_epoch(loader, 5, 4);
  ASSERT_EQ(tail.size(), full.size() - 4);
  for (size_t b = 0; b < tail.size(); ++b) {
    EXPECT_EQ(tail[b].batch_index, full[b + 4].batch_index);
    EXPECT_EQ(tail[b].indices, full[b + 4].indices);
    EXPECT_EQ(tail[b].images.to_vector(), full[b + 4].images.to_vector());
  }
  EXPECT_TRUE(run_epoch(loader, 5, loader.batches_per_epoch()).empty());
  EXPECT_THROW(loader.start_epoch(5, loader.batches_per_epoch() + 1), Error);
}

TEST(DataLoader, PrefetchIsBounded) {
  auto inner = synthetic(400, {1, 2, 2});
  auto ds = std::make_shared<InstrumentedDataset>(inner);
  DataLoader loader(ds, ImageTransform(), {.batch_size = 10, .workers = 2, .prefetch = 3});
  // Waits until the workers reach `expected` reads (they must, and quickly), then a little longer to
  // see that they stop there.
  auto settled_reads = [&](int64_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (ds->reads.load() < expected && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return ds->reads.load();
  };
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());
  // One batch consumed, then max(prefetch, workers) = 3 more prepared and no further.
  EXPECT_EQ(settled_reads(40), 40);
  ASSERT_TRUE(loader.next().has_value());
  EXPECT_EQ(settled_reads(50), 50);
}

TEST(DataLoader, WorkerErrorIsRethrownInTheConsumer) {
  auto ds = std::make_shared<InstrumentedDataset>(synthetic(60, {1, 2, 2}), 0, 37);
  for (int workers : {0, 1, 3}) {
    DataLoader loader(ds, ImageTransform(), {.batch_size = 10, .shuffle = false, .workers = workers});
    loader.start_epoch(0);
    for (int b = 0; b < 3; ++b) ASSERT_TRUE(loader.next().has_value()) << workers;
    try {
      loader.next();
      ADD_FAILURE() << "no error with " << workers << " workers";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "instrumented: cannot read sample 37");
    }
    if (workers > 0) EXPECT_FALSE(loader.next().has_value());  // the epoch ended with the error
  }
}

TEST(DataLoader, DestroyedOrRestartedMidEpochWithoutHanging) {
  auto ds = std::make_shared<InstrumentedDataset>(synthetic(2000, {3, 8, 8}), 200);
  const auto start = std::chrono::steady_clock::now();
  {
    DataLoader loader(ds, kAugment, {.batch_size = 16, .workers = 3});
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    loader.start_epoch(1);  // abandons epoch 0 with its workers busy
    ASSERT_TRUE(loader.next().has_value());
  }  // destroyed with workers busy on epoch 1
  {
    DataLoader never_consumed(ds, kAugment, {.batch_size = 16, .workers = 2});
    never_consumed.start_epoch(0);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A full epoch would read 2000 samples at >= 200 us each on 3 threads (>= 0.13 s); stopping early
  // costs at most the batches in flight.
  EXPECT_LT(ds->reads.load(), 400);
  EXPECT_LT(seconds, 2.0);
}

TEST(DataLoader, RejectsBadOptionsAndNextBeforeStart) {
  auto ds = synthetic(10, {1, 2, 2});
  EXPECT_THROW(DataLoader(ds, ImageTransform(), {.batch_size = 0}), Error);
  EXPECT_THROW(DataLoader(ds, ImageTransform(), {.workers = -1}), Error);
  EXPECT_THROW(DataLoader(ds, ImageTransform({}, {{0.1f, 0.2f}, {1, 1}}, 0), {}), Error);
  DataLoader loader(ds, ImageTransform(), {.batch_size = 4});
  EXPECT_THROW(loader.next(), Error);
}

// Data parallelism: the parts of 3 sharded loaders, concatenated in rank order, are the batches of the
// unsharded loader (same samples, same augmentation, same labels), split 4/3/3 for a batch of 10 and
// 1/1/1 for the last batch of 3; a last batch of 2 leaves the first part empty.
TEST(DataLoader, ShardedLoadersSplitEachGlobalBatchContiguously) {
  for (const int64_t n : {103, 102}) {
    auto ds = synthetic(n, {3, 6, 5});
    DataLoader whole(ds, kAugment, {.batch_size = 10, .workers = 0, .seed = 9});
    const std::vector<Batch> expected = run_epoch(whole, 1);
    std::vector<std::vector<Batch>> parts;
    for (int rank = 0; rank < 3; ++rank) {
      DataLoader shard(ds, kAugment, {.batch_size = 10, .workers = 1, .seed = 9, .shard_index = rank, .shard_count = 3});
      EXPECT_EQ(shard.batches_per_epoch(), whole.batches_per_epoch());
      parts.push_back(run_epoch(shard, 1));
      ASSERT_EQ(parts.back().size(), expected.size());
    }
    for (size_t b = 0; b < expected.size(); ++b) {
      const int64_t m = expected[b].size();
      std::vector<int64_t> indices;
      std::vector<float> pixels;
      int64_t offset = 0;
      for (int rank = 0; rank < 3; ++rank) {
        const Batch& part = parts[static_cast<size_t>(rank)][b];
        EXPECT_EQ(part.global_size, m);
        EXPECT_EQ(part.shard_offset, offset) << "batch " << b << " rank " << rank;
        EXPECT_EQ(part.size(), (rank + 1) * m / 3 - rank * m / 3);
        indices.insert(indices.end(), part.indices.begin(), part.indices.end());
        if (part.size() > 0) {
          const std::vector<float> values = part.images.to_vector();
          pixels.insert(pixels.end(), values.begin(), values.end());
        } else {
          EXPECT_FALSE(part.images.defined());
        }
        offset += part.size();
      }
      EXPECT_EQ(indices, expected[b].indices) << "batch " << b;
      EXPECT_EQ(pixels, expected[b].images.to_vector()) << "batch " << b;
    }
    EXPECT_EQ(parts[0].back().size(), n == 103 ? 1 : 0);  // 3 = 1+1+1; 2 = 0+1+1
  }
  auto ds = synthetic(10, {1, 2, 2});
  EXPECT_THROW(DataLoader(ds, ImageTransform(), {.shard_index = 3, .shard_count = 3}), Error);
  EXPECT_THROW(DataLoader(ds, ImageTransform(), {.shard_index = 0, .shard_count = 0}), Error);
}
