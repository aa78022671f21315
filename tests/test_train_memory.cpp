// Training memory is steady: once every buffer, primitive and cache a run needs has been made (the
// first epoch's training steps, then its evaluation, dead-unit statistics and checkpoint: with
// conv_algo auto the evaluation makes its own Winograd inference primitives, a one-time ~4% of this
// small run), the resident set grows by less than 2% over the next two epochs, compared at the same
// point of each epoch (the last step) with the heap's free pages returned first, so that the number
// is the memory in use and not where glibc happened to place blocks (without that it varies by +-5%
// from run to run). A leak of one batch's activations per step would break it. (That placement is
// also why the trainer trims the heap at each epoch's end: without, the resident set crept up 1-4% per
// epoch, measured; see release_free_memory.)
//
// Its own executable, so that no other test's allocations share the process. Skipped under
// AddressSanitizer, whose quarantine keeps freed memory resident on purpose.
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/train/trainer.hpp"
#include "support/synthetic_cifar.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SUGAR_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUGAR_UNDER_ASAN 1
#endif
#endif

namespace {

namespace fs = std::filesystem;
using namespace sugar;

// VmRSS of this process in KiB, from /proc/self/status.
int64_t resident_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  ADD_FAILURE() << "no VmRSS line in /proc/self/status";
  return 0;
}

TEST(TrainMemory, ResidentSetMeasurementSeesTouchedMemory) {
  const int64_t before = resident_kib();
  std::vector<char> block(64 << 20);
  std::memset(block.data(), 1, block.size());  // touched, so resident
  const int64_t after = resident_kib();
  EXPECT_GT(after - before, 60 << 10) << "64 MiB touched, but VmRSS went from " << before << " to " << after << " KiB";
  EXPECT_EQ(block[12345], 1);
}

TEST(TrainMemory, ResidentSetGrowsLessThanTwoPercentOnceTheFirstEpochAndEvaluationAreDone) {
#ifdef SUGAR_UNDER_ASAN
  GTEST_SKIP() << "AddressSanitizer's quarantine keeps freed memory resident";
#endif
  std::string pattern = (fs::temp_directory_path() / "sugar-train-memory-XXXXXX").string();
  const std::string root = ::mkdtemp(pattern.data());
  testkit::write_synthetic_cifar10(fs::path(root) / "cifar", 64, 32);
  // VGG-11 with BatchNorm, 4 steps of 16 per epoch, evaluation, dead-unit statistics and checkpoints
  // every epoch: the whole loop, small.
  const config::ExperimentConfig config = config::load_config_text(
      "name: memory\nseed: 2\nmodel: {name: vgg11}\n"
      "data: {name: cifar10, root: " + root + "/cifar, augment: {crop_padding: 4, hflip: true}}\n"
      "optim: {name: sgd, lr: 0.02, momentum: 0.9, weight_decay: 5.0e-4}\n"
      "schedule: {name: cosine}\n"
      "train: {epochs: 4, batch_size: 16, eval_batch_size: 32, threads: 1}\n",
      "memory.yaml");

  // The resident set at the last step of each epoch: the same point of the loop every time (after
  // the update, before the epoch's evaluation and checkpoint).
  std::vector<int64_t> at_epoch_end(5, 0);
  train::TrainOptions options;
  options.run_dir = root + "/run";
  options.progress_bar = false;
  options.after_step = [&](int64_t epoch, int64_t) {
    malloc_trim(0);  // free heap pages out first (as the trainer does each epoch): what stays is in use
    at_epoch_end[static_cast<size_t>(epoch)] = resident_kib();
  };
  const train::TrainResult result = train::train(config, options);
  fs::remove_all(root);

  ASSERT_EQ(result.state, "finished");
  const int64_t first = at_epoch_end[2];  // the first epoch's end and evaluation lie behind
  ASSERT_GT(first, 50 << 10) << "implausibly small resident set";  // a VGG-11 alone is 37 MB
  for (size_t epoch = 3; epoch <= 4; ++epoch) {
    EXPECT_LT(static_cast<double>(at_epoch_end[epoch]), 1.02 * static_cast<double>(first))
        << "resident set at the end of epoch 2: " << first << " KiB; of epoch " << epoch << ": " << at_epoch_end[epoch]
        << " KiB";
  }
  std::printf("resident set at the end of epochs 1, 2, 3, 4: %lld, %lld, %lld, %lld KiB\n",
              static_cast<long long>(at_epoch_end[1]), static_cast<long long>(first),
              static_cast<long long>(at_epoch_end[3]), static_cast<long long>(at_epoch_end[4]));
}

}  // namespace
