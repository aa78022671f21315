// The CIFAR-10 and CIFAR-100 binary readers, on the input as a batch file (CIFAR-10: data_batch_1.bin,
// the other four empty; CIFAR-100: train.bin). An accepted file holds whole records whose labels are in
// range, and the dataset has exactly that many images.
#include <string>

#include "fuzz_support.hpp"
#include "sugar/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  using namespace sugar;
  const fs::path& dir = fuzz::scratch_dir();
  static const bool prepared = [&] {
    for (int k = 2; k <= 5; ++k) fuzz::write_bytes(dir / ("data_batch_" + std::to_string(k) + ".bin"), nullptr, 0);
    return true;
  }();
  (void)prepared;
  fuzz::write_bytes(dir / "data_batch_1.bin", data, size);
  fuzz::write_bytes(dir / "train.bin", data, size);

  fuzz::accept_or_reject([&] {
    const auto set = data::read_cifar10(dir, data::Split::train);
    if (size % 3073 != 0 || set->size() != static_cast<int64_t>(size / 3073)) fuzz::broken("cifar10: wrong record count");
    for (int64_t i = 0; i < set->size(); ++i) {
      if (set->label(i) < 0 || set->label(i) >= 10) fuzz::broken("cifar10: label out of range accepted");
    }
  });
  for (const auto labels : {data::Cifar100Labels::fine, data::Cifar100Labels::coarse}) {
    fuzz::accept_or_reject([&] {
      const auto set = data::read_cifar100(dir, data::Split::train, labels);
      if (size % 3074 != 0 || set->size() != static_cast<int64_t>(size / 3074)) fuzz::broken("cifar100: wrong record count");
      const int classes = labels == data::Cifar100Labels::fine ? 100 : 20;
      for (int64_t i = 0; i < set->size(); ++i) {
        if (set->label(i) < 0 || set->label(i) >= classes) fuzz::broken("cifar100: label out of range accepted");
      }
    });
  }
  return 0;
}
