#pragma once
// CIFAR-10 and CIFAR-100 from the official binary releases (https://www.cs.toronto.edu/~kriz/cifar.html;
// data/fetch-cifar.sh downloads them).
//
//   CIFAR-10  cifar-10-batches-bin/: data_batch_1.bin .. data_batch_5.bin (train), test_batch.bin (test);
//             record = 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows top to bottom).
//   CIFAR-100 cifar-100-binary/: train.bin, test.bin;
//             record = 1 coarse label byte (20 superclasses) + 1 fine label byte (100 classes) + 3072 pixels.
//
// A file may hold any whole number of records (the official ones hold 10,000, 50,000 or 10,000).
#include <filesystem>
#include <memory>

#include "sugar/data/dataset.hpp"

namespace sugar::data {

enum class Cifar100Labels { fine, coarse };

// `dir` is the extracted folder (or its parent: a `cifar-10-batches-bin` / `cifar-100-binary` inside it
// is used when `dir` itself has no batch files).
std::shared_ptr<InMemoryDataset> read_cifar10(const std::filesystem::path& dir, Split split);
std::shared_ptr<InMemoryDataset> read_cifar100(const std::filesystem::path& dir, Split split,
                                               Cifar100Labels labels = Cifar100Labels::fine);

const std::vector<std::string>& cifar10_class_names();
const std::vector<std::string>& cifar100_fine_class_names();
const std::vector<std::string>& cifar100_coarse_class_names();

}  // namespace sugar::data
