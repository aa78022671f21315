#include "sugar/data/idx.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "sugar/data/file_bytes.hpp"
#include "sugar/error.hpp"
#include "sugar/io/regular_file.hpp"

namespace sugar::data {
namespace {

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex32(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

// The first existing spelling of an MNIST file name, or an error listing what was looked for.
std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& prefix,
                                    const std::string& kind, const char* dataset) {
  // e.g. prefix "train", kind "images-idx3": train-images-idx3-ubyte[.gz], train-images.idx3-ubyte[.gz]
  const std::string dash = prefix + "-" + kind + "-ubyte";
  std::string dotted = dash;
  dotted[dotted.find("-idx")] = '.';
  const std::vector<std::string> candidates{dash + ".gz", dash, dotted + ".gz", dotted};
  for (const auto& name : candidates)
    if (names_an_entry(dir / name)) return dir / name;
  SUGAR_CHECK(std::filesystem::is_directory(dir), dataset, ": data folder ", dir.string(),
              " does not exist (expected it to hold ", prefix, "-images-idx3-ubyte[.gz] and ", prefix,
              "-labels-idx1-ubyte[.gz])");
  throw Error(detail::concat(dataset, ": ", dir.string(), " has no ", dash, " (looked for ", candidates[0], ", ",
                             candidates[1], ", ", candidates[2], ", ", candidates[3], ")"));
}

std::vector<uint8_t> pad_images(const IdxArray& images, int pad_to) {
  const int64_t count = images.dims[0], rows = images.dims[1], cols = images.dims[2];
  const int64_t top = (pad_to - rows) / 2, left = (pad_to - cols) / 2;
  std::vector<uint8_t> out(static_cast<size_t>(count * pad_to * pad_to), 0);
  for (int64_t n = 0; n < count; ++n)
    for (int64_t y = 0; y < rows; ++y)
      std::memcpy(out.data() + (n * pad_to + top + y) * pad_to + left, images.data.data() + (n * rows + y) * cols,
                  static_cast<size_t>(cols));
  return out;
}

// The checks of read_idx_file, on its content as it is read.
IdxArray read_idx_content(DatasetBytes& file, const std::filesystem::path& path, int expected_ndims) {
  const std::string where = path.string();
  std::vector<uint8_t> header;
  file.read(header, 4);
  SUGAR_CHECK(header.size() >= 4, where, ": too short for an IDX header (", header.size(), " bytes)");
  const uint32_t magic = big_endian_u32(header.data());
  const uint32_t expected_magic = 0x00000800u | static_cast<uint32_t>(expected_ndims);
  SUGAR_CHECK(header[0] == 0 && header[1] == 0 && header[2] == 0x08, where, ": not an unsigned-byte IDX file (magic ",
              hex32(magic), ", expected ", hex32(expected_magic), ")");
  const int ndims = header[3];
  SUGAR_CHECK(ndims == expected_ndims, where, ": IDX file has ", ndims, " dimensions (magic ", hex32(magic),
              "), expected ", expected_ndims, " (magic ", hex32(expected_magic), ")");
  const size_t header_size = 4 + 4 * static_cast<size_t>(ndims);
  file.read(header, header_size - 4);
  SUGAR_CHECK(header.size() >= header_size, where, ": truncated IDX header (", header.size(),
              " bytes, the header needs ", header_size, ")");
  IdxArray array;
  for (int d = 0; d < ndims; ++d) {
    const int64_t size = big_endian_u32(header.data() + 4 + 4 * d);
    SUGAR_CHECK(size > 0, where, ": IDX dimension ", d, " is 0");
    array.dims.push_back(size);
  }
  // Three 32-bit sizes can multiply past 64 bits (found by tests/fuzz/fuzz_idx). What the header
  // declares is checked before any data is read, so a header that promises more than a dataset file
  // may hold costs nothing.
  int64_t total = 1;
  bool overflow = false;
  for (const int64_t size : array.dims) overflow = overflow || __builtin_mul_overflow(total, size, &total);
  SUGAR_CHECK(!overflow && static_cast<uint64_t>(total) <= io::kMaxDatasetFileBytes, where, ": header says ",
              shape_string(array.dims), " = ", overflow ? std::string("more than 2^63") : std::to_string(total),
              " bytes of data, more than a dataset file may hold (", io::kMaxDatasetFileBytes >> 20, " MiB)");
  // Inflating stops a little past the declared size: enough to count a few stray bytes, never the
  // gigabytes a decompression bomb would give.
  constexpr uint64_t kExtraLooked = 1 << 16;
  file.read(array.data, static_cast<uint64_t>(total) + kExtraLooked + 1);
  const int64_t available = static_cast<int64_t>(array.data.size());
  SUGAR_CHECK(available >= total, where, ": truncated: header says ", shape_string(array.dims), " = ", total,
              " bytes of data but only ", available, " follow");
  SUGAR_CHECK(available == total, where, ": ", available - total > static_cast<int64_t>(kExtraLooked) ? "more than " : "",
              std::min<int64_t>(available - total, kExtraLooked), " unexpected bytes after the ", total, " bytes of data that the header ",
              shape_string(array.dims), " describes");
  return array;
}

}  // namespace

IdxArray read_idx_file(const std::filesystem::path& path, int expected_ndims) {
  DatasetBytes file(path);
  try {
    return read_idx_content(file, path, expected_ndims);
  } catch (const Error&) {
    file.throw_if_corrupt();  // a bad header read from a corrupt gzip stream is the stream's fault
    throw;
  }
}

constexpr int64_t kIdxImageSide = 28;

std::shared_ptr<InMemoryDataset> read_idx_dataset(const std::filesystem::path& dir, Split split,
                                                  const IdxDatasetOptions& options, const std::string& name,
                                                  const std::vector<std::string>& class_names) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const auto image_path = find_idx_file(dir, prefix, "images-idx3", name.c_str());
  const auto label_path = find_idx_file(dir, prefix, "labels-idx1", name.c_str());
  IdxArray images = read_idx_file(image_path, 3);
  IdxArray labels = read_idx_file(label_path, 1);
  SUGAR_CHECK(images.dims[0] == labels.dims[0], name, ": ", image_path.string(), " holds ", images.dims[0],
              " images but ", label_path.string(), " holds ", labels.dims[0], " labels");
  const int num_classes = static_cast<int>(class_names.size());
  std::vector<int32_t> label_values(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    SUGAR_CHECK(labels.data[i] < num_classes, label_path.string(), ": record ", i, " has label ",
                int{labels.data[i]}, ", outside [0, ", num_classes, ")");
    label_values[i] = labels.data[i];
  }
  const int64_t rows = images.dims[1], cols = images.dims[2];
  // MNIST and Fashion-MNIST images are 28x28 in both splits: anything else would be padded alike and
  // trained on without a word (a 1x1 training set, a 28x20 one against a 28x28 test set).
  SUGAR_CHECK(rows == kIdxImageSide && cols == kIdxImageSide, image_path.string(), ": holds ", rows, "x", cols,
              " images; ", name, " images are ", kIdxImageSide, "x", kIdxImageSide);
  SUGAR_CHECK(options.pad_to >= 0, name, ": pad_to must be >= 0 (0 = keep the stored size), got ", options.pad_to);
  ImageShape shape{1, static_cast<int>(rows), static_cast<int>(cols)};
  std::vector<uint8_t> pixels;
  if (options.pad_to == 0 || (options.pad_to == rows && options.pad_to == cols)) {
    pixels = std::move(images.data);
  } else {
    SUGAR_CHECK(options.pad_to >= rows && options.pad_to >= cols, name, ": pad_to ", options.pad_to,
                " is smaller than the stored images (", rows, "x", cols, " in ", image_path.string(), ")");
    pixels = pad_images(images, options.pad_to);
    shape = ImageShape{1, options.pad_to, options.pad_to};
  }
  return std::make_shared<InMemoryDataset>(name + " " + split_name(split), shape, num_classes, class_names,
                                           std::move(pixels), std::move(label_values));
}

std::shared_ptr<InMemoryDataset> read_mnist(const std::filesystem::path& dir, Split split,
                                            const IdxDatasetOptions& options) {
  return read_idx_dataset(dir, split, options, "mnist", mnist_class_names());
}

std::shared_ptr<InMemoryDataset> read_fashion_mnist(const std::filesystem::path& dir, Split split,
                                                    const IdxDatasetOptions& options) {
  return read_idx_dataset(dir, split, options, "fashion_mnist", fashion_mnist_class_names());
}

const std::vector<std::string>& mnist_class_names() {
  static const std::vector<std::string> names{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  return names;
}

// As in the Fashion-MNIST README (github.com/zalandoresearch/fashion-mnist).
const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

}  // namespace sugar::data
