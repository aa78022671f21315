#include "sugar/data/loader.hpp"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

#include "sugar/data/sampling.hpp"
#include "sugar/error.hpp"

namespace sugar::data {

// One epoch's shared state. Workers claim batch indices in order, but never more than `capacity`
// ahead of the consumer, so memory stays bounded; finished batches wait in `ready` (keyed by index)
// until the consumer asks for them in order.
struct DataLoader::EpochRun {
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  std::vector<int64_t> order;
  int64_t epoch = 0;
  int64_t end_batch = 0;
  int64_t capacity = 1;
  std::mutex mutex;
  std::condition_variable work_cv;   // a worker may claim another batch, or must stop
  std::condition_variable ready_cv;  // a batch was finished
  int64_t next_claim = 0;
  int64_t next_consume = 0;
  std::map<int64_t, Slot> ready;
  bool stopping = false;
  std::vector<std::thread> threads;

  void stop_and_join() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_cv.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
    threads.clear();
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, ImageTransform transform, LoaderOptions options)
    : dataset_(std::move(dataset)), transform_(std::move(transform)), options_(options) {
  SUGAR_CHECK(dataset_ != nullptr, "DataLoader: dataset is null");
  SUGAR_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ", options_.batch_size);
  SUGAR_CHECK(options_.workers >= 0, "DataLoader: workers must be >= 0, got ", options_.workers);
  SUGAR_CHECK(options_.prefetch >= 1, "DataLoader: prefetch must be >= 1, got ", options_.prefetch);
  SUGAR_CHECK(options_.shard_count >= 1 && options_.shard_index >= 0 && options_.shard_index < options_.shard_count,
              "DataLoader: shard ", options_.shard_index, " of ", options_.shard_count,
              " is not a valid part (expected 0 <= shard_index < shard_count)");
  const auto& n = transform_.normalization();
  if (!n.mean.empty()) check_normalization(n, dataset_->channels(), dataset_->description());
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::samples_per_epoch() const {
  const int64_t n = dataset_->size();
  return options_.drop_last ? n / options_.batch_size * options_.batch_size : n;
}

std::pair<int64_t, int64_t> DataLoader::part_bounds(int64_t part, int64_t global_count) const {
  const int64_t parts = options_.shard_count;
  const int64_t unit = options_.mix.enabled() ? 2 : 1;  // a mixed pair stays in one part
  const int64_t units = (global_count + unit - 1) / unit;
  return {std::min(global_count, unit * (part * units / parts)), std::min(global_count, unit * ((part + 1) * units / parts))};
}

bool DataLoader::every_part_has_samples(int64_t global_count) const {
  for (int64_t part = 0; part < options_.shard_count; ++part) {
    const auto [begin, end] = part_bounds(part, global_count);
    if (begin == end) return false;
  }
  return true;
}

int64_t DataLoader::batches_per_epoch() const {
  return (samples_per_epoch() + options_.batch_size - 1) / options_.batch_size;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  if (options_.shuffle) return shuffled_order(dataset_->size(), options_.seed, epoch);
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t batch_index) const {
  const int64_t global_begin = batch_index * options_.batch_size;
  const int64_t global_count =
      std::min<int64_t>(options_.batch_size, static_cast<int64_t>(order.size()) - global_begin);
  SUGAR_CHECK(global_begin >= 0 && global_count > 0, "DataLoader: batch ", batch_index,
              " is past the end of the epoch (", order.size(), " samples, batch size ", options_.batch_size, ")");
  // This loader's part of the global batch (all of it without sharding).
  const auto [part_begin, part_end] = part_bounds(options_.shard_index, global_count);
  const int64_t count = part_end - part_begin;
  const int64_t begin = global_begin + part_begin;
  const ImageShape shape = dataset_->image_shape();
  Batch batch;
  batch.batch_index = batch_index;
  batch.global_size = global_count;
  batch.shard_offset = part_begin;
  if (count == 0) return batch;
  batch.images = Tensor::zeros({count, shape.channels, shape.height, shape.width});
  batch.labels.resize(static_cast<size_t>(count));
  batch.indices.resize(static_cast<size_t>(count));
  float* out = batch.images.data<float>();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t index = order[static_cast<size_t>(begin + k)];
    transform_.apply(*dataset_, index, epoch, out + k * shape.numel());
    batch.labels[static_cast<size_t>(k)] = dataset_->label(index);
    batch.indices[static_cast<size_t>(k)] = index;
  }
  if (options_.mix.enabled()) {
    const MixDraw draw = draw_mix(options_.mix, shape, options_.seed, epoch, batch_index);
    if (draw.kind != MixKind::none) {
      batch.partner_labels = mix_part(draw, shape, part_begin, global_count, out, batch.labels);
      batch.own_weight = draw.own_weight;
      batch.mix_kind = draw.kind;
    }
  }
  return batch;
}

void DataLoader::stop() {
  if (!run_) return;
  run_->stop_and_join();
  run_->next_consume = run_->end_batch;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  const int64_t batches = batches_per_epoch();
  SUGAR_CHECK(first_batch >= 0 && first_batch <= batches, "DataLoader: first_batch ", first_batch,
              " is outside [0, ", batches, "]");
  run_ = std::make_unique<EpochRun>();
  EpochRun& run = *run_;
  run.order = epoch_order(epoch);
  run.epoch = epoch;
  run.end_batch = batches;
  run.next_claim = run.next_consume = first_batch;
  run.capacity = std::max<int64_t>(options_.prefetch, options_.workers);
  for (int w = 0; w < options_.workers; ++w) {
    run.threads.emplace_back([this, &run] {
      std::unique_lock lock(run.mutex);
      while (true) {
        run.work_cv.wait(lock, [&] {
          return run.stopping || run.next_claim >= run.end_batch || run.next_claim < run.next_consume + run.capacity;
        });
        if (run.stopping || run.next_claim >= run.end_batch) return;
        const int64_t index = run.next_claim++;
        lock.unlock();
        EpochRun::Slot slot;
        try {
          slot.batch = make_batch(run.order, run.epoch, index);
        } catch (...) {
          slot.error = std::current_exception();
        }
        lock.lock();
        run.ready.emplace(index, std::move(slot));
        run.ready_cv.notify_all();
      }
    });
  }
}

std::optional<Batch> DataLoader::next() {
  SUGAR_CHECK(run_ != nullptr, "DataLoader::next: call start_epoch first");
  EpochRun& run = *run_;
  if (run.next_consume >= run.end_batch) {
    run.stop_and_join();  // the workers have already left their loops; this only joins them
    return std::nullopt;
  }
  if (run.threads.empty()) return make_batch(run.order, run.epoch, run.next_consume++);
  EpochRun::Slot slot;
  {
    std::unique_lock lock(run.mutex);
    run.ready_cv.wait(lock, [&] { return run.ready.count(run.next_consume) > 0; });
    auto it = run.ready.find(run.next_consume);
    slot = std::move(it->second);
    run.ready.erase(it);
    ++run.next_consume;
  }
  run.work_cv.notify_all();
  if (slot.error) {
    stop();
    std::rethrow_exception(slot.error);
  }
  return std::move(slot.batch);
}

}  // namespace sugar::data
