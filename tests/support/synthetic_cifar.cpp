#include "support/synthetic_cifar.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "sugar/random.hpp"

namespace sugar::testkit {
namespace {

namespace fs = std::filesystem;

// Appends `count` records with labels first, first+1, ... (mod classes); `label_bytes` holds the bytes
// before the pixels for one fine label (CIFAR-100 writes its coarse label first).
void write_records(const fs::path& file, int count, int first, int classes, bool with_coarse,
                   const RandomStream& rng, uint64_t& counter) {
  std::ofstream out(file, std::ios::binary);
  for (int i = 0; i < count; ++i) {
    const int label = (first + i) % classes;
    if (with_coarse) out.put(static_cast<char>(label / 5));  // any coarse label in 0..19 will do
    out.put(static_cast<char>(label));
    for (int c = 0; c < 3; ++c) {
      const int base = 40 + 18 * ((label + 3 * c) % 10);
      for (int p = 0; p < 1024; ++p) {
        const int noise = static_cast<int>(rng.bits(counter++) % 41) - 20;
        out.put(static_cast<char>(std::clamp(base + noise, 0, 255)));
      }
    }
  }
}

}  // namespace

void write_synthetic_cifar10(const fs::path& dir, int train_records, int test_records) {
  fs::create_directories(dir);
  const RandomStream rng(42, "test/cifar");
  uint64_t counter = 0;
  int first = 0;
  for (int k = 0; k < 5; ++k) {
    // Spread the records over the five files as evenly as the count allows (the first files get one more).
    const int count = train_records / 5 + (k < train_records % 5 ? 1 : 0);
    write_records(dir / ("data_batch_" + std::to_string(k + 1) + ".bin"), count, first, 10, false, rng, counter);
    first += count;
  }
  write_records(dir / "test_batch.bin", test_records, 1000, 10, false, rng, counter);
}

void write_synthetic_cifar100(const fs::path& dir, int train_records, int test_records) {
  fs::create_directories(dir);
  const RandomStream rng(43, "test/cifar100");
  uint64_t counter = 0;
  write_records(dir / "train.bin", train_records, 0, 100, true, rng, counter);
  write_records(dir / "test.bin", test_records, 1000, 100, true, rng, counter);
}

}  // namespace sugar::testkit
