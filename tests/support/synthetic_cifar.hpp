#pragma once
// Small CIFAR files in the official binary formats, written by tests (CIFAR itself is not available on
// the test machines). Every class has its own mean brightness per channel plus noise, so a model has
// something to learn; the bytes depend only on the arguments.
#include <filesystem>

namespace sugar::testkit {

// CIFAR-10: data_batch_1..5.bin holding `train_records` records between them, test_batch.bin holding
// `test_records`; each record is 1 label byte (0-9) + 3072 pixel bytes.
void write_synthetic_cifar10(const std::filesystem::path& dir, int train_records, int test_records);

// CIFAR-100: train.bin and test.bin; each record is a coarse label byte (0-19), a fine label byte
// (0-99) and 3072 pixel bytes.
void write_synthetic_cifar100(const std::filesystem::path& dir, int train_records, int test_records);

}  // namespace sugar::testkit
