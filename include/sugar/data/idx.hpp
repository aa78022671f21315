#pragma once
// MNIST and Fashion-MNIST from IDX files (http://yann.lecun.com/exdb/mnist/ describes the format),
// gzipped or not: gzip is recognised by its magic bytes, not by the file name. Debian's
// dataset-fashion-mnist package installs the four .gz files in /usr/share/datasets/fashion-mnist.
//
// IDX: a big-endian header [0, 0, type 0x08 (unsigned byte), number of dimensions] + one 32-bit
// big-endian size per dimension, then the data. Images are 3-d (N x rows x cols, magic 0x00000803),
// labels 1-d (N, magic 0x00000801).
#include <filesystem>
#include <memory>

#include "sugar/data/dataset.hpp"

namespace sugar::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // row-major, product(dims) bytes
};

// Reads an unsigned-byte IDX file with `expected_ndims` dimensions. Errors (each naming the file): not
// an unsigned-byte IDX file / wrong magic, wrong number of dimensions, a zero dimension, data shorter
// than the header promises (truncated), corrupt gzip.
IdxArray read_idx_file(const std::filesystem::path& path, int expected_ndims);

struct IdxDatasetOptions {
  // Zero-pads the images symmetrically to pad_to x pad_to (28 -> 32 puts 2 pixels on each side) so that
  // models built for CIFAR accept them; 0 keeps the stored size.
  int pad_to = 32;
};

// Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte, each also accepted with a ".gz" suffix
// or with "." instead of the last "-" (train-images.idx3-ubyte), as distributed by different mirrors.
// Labels must be < 10. Images and labels must agree in count.
std::shared_ptr<InMemoryDataset> read_mnist(const std::filesystem::path& dir, Split split,
                                            const IdxDatasetOptions& options = {});
std::shared_ptr<InMemoryDataset> read_fashion_mnist(const std::filesystem::path& dir, Split split,
                                                    const IdxDatasetOptions& options = {});

// The shared reader behind both, for any 10-class dataset in the MNIST file layout.
std::shared_ptr<InMemoryDataset> read_idx_dataset(const std::filesystem::path& dir, Split split,
                                                  const IdxDatasetOptions& options, const std::string& name,
                                                  const std::vector<std::string>& class_names);

const std::vector<std::string>& mnist_class_names();
const std::vector<std::string>& fashion_mnist_class_names();

}  // namespace sugar::data
