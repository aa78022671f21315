#include "sugar/data/registry.hpp"

#include <algorithm>
#include <tuple>

#include "sugar/data/cifar.hpp"
#include "sugar/data/idx.hpp"
#include "sugar/data/image_folder.hpp"
#include "sugar/data/normalization.hpp"
#include "sugar/error.hpp"

namespace sugar::data {
namespace {

void usage_check(bool ok, const std::string& message) {
  if (!ok) throw Error(message, ErrorKind::usage);
}

std::shared_ptr<const Dataset> read_split(const DataOptions& o, const std::filesystem::path& root, Split split) {
  if (o.name == "cifar10") return read_cifar10(root, split);
  if (o.name == "cifar100")
    return read_cifar100(root, split, o.coarse_labels ? Cifar100Labels::coarse : Cifar100Labels::fine);
  if (o.name == "mnist") return read_mnist(root, split, {o.pad_to});
  if (o.name == "fashion_mnist") return read_fashion_mnist(root, split, {o.pad_to});
  throw Error("read_split: image folders are read by read_image_folders", ErrorKind::usage);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// The names in `a` that `b` lacks.
std::vector<std::string> missing_from(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& name : a)
    if (std::find(b.begin(), b.end(), name) == b.end()) out.push_back(name);
  return out;
}

// Both splits listed and compared before either is decoded: a broken test/ folder is reported in
// seconds, not after the whole train/ folder was decoded.
std::pair<std::shared_ptr<const Dataset>, std::shared_ptr<const Dataset>> read_image_folders(
    const DataOptions& o, const std::filesystem::path& root) {
  const ImageFolderListing train = list_image_folder(root / "train");
  const ImageFolderListing test = list_image_folder(root / "test");
  if (train.class_names != test.class_names) {
    const auto only_train = missing_from(train.class_names, test.class_names);
    const auto only_test = missing_from(test.class_names, train.class_names);
    throw Error(detail::concat("image_folder: ", test.root.string(), " has classes [", join_names(test.class_names),
                               "] but ", train.root.string(), " has [", join_names(train.class_names),
                               "]; expected the same class folders",
                               only_train.empty() ? "" : "; missing in test: " + join_names(only_train),
                               only_test.empty() ? "" : "; not in train: " + join_names(only_test)));
  }
  const ImageFolderOptions size{o.image_size, o.image_size};
  return {decode_image_folder(train, size), decode_image_folder(test, size)};
}

}  // namespace

namespace {

// What the registry knows of each dataset before reading it. (The readers: read_split and
// read_image_folders above; the documented normalisations: normalization.cpp.)
struct DatasetEntry {
  std::string name;
  std::string default_root;
  ImageShape (*image_shape)(const DataOptions& options);
  // The documented class count; 0 where only the files say (image folders: one class per sub-folder).
  int (*num_classes)(const DataOptions& options);
};

ImageShape cifar_shape(const DataOptions&) { return {3, 32, 32}; }
ImageShape mnist_shape(const DataOptions& o) {
  const int side = o.pad_to > 0 ? o.pad_to : 28;
  return {1, side, side};
}
ImageShape folder_shape(const DataOptions& o) { return {3, o.image_size, o.image_size}; }
int ten_classes(const DataOptions&) { return 10; }
int cifar100_classes(const DataOptions& o) { return o.coarse_labels ? 20 : 100; }
int classes_from_files(const DataOptions&) { return 0; }

const std::vector<DatasetEntry>& dataset_entries() {
  static const std::vector<DatasetEntry> entries{
      {"cifar10", "data/cifar-10-batches-bin", cifar_shape, ten_classes},
      {"cifar100", "data/cifar-100-binary", cifar_shape, cifar100_classes},
      {"mnist", "data/mnist", mnist_shape, ten_classes},
      {"fashion_mnist", "/usr/share/datasets/fashion-mnist", mnist_shape, ten_classes},  // Debian's dataset-fashion-mnist
      {"image_folder", "data/images", folder_shape, classes_from_files},
  };
  return entries;
}

const DatasetEntry* find_dataset(const std::string& name) {
  for (const DatasetEntry& entry : dataset_entries())
    if (entry.name == name) return &entry;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const DatasetEntry& entry : dataset_entries()) out.push_back(entry.name);
    return out;
  }();
  return names;
}

std::string default_root(const std::string& name) {
  if (const DatasetEntry* entry = find_dataset(name)) return entry->default_root;
  throw Error("unknown dataset '" + name + "'", ErrorKind::usage);
}

std::optional<ImageShape> expected_image_shape(const DataOptions& options) {
  if (const DatasetEntry* entry = find_dataset(options.name)) return entry->image_shape(options);
  return std::nullopt;
}

std::optional<int> expected_num_classes(const DataOptions& options) {
  const DatasetEntry* entry = find_dataset(options.name);
  if (entry == nullptr) return std::nullopt;
  const int classes = entry->num_classes(options);
  return classes > 0 ? std::optional<int>(classes) : std::nullopt;
}

DataSplits load_data(const DataOptions& o) {
  bool known = false;
  std::string names;
  for (const auto& n : dataset_names()) {
    known = known || n == o.name;
    names += (names.empty() ? "" : ", ") + n;
  }
  usage_check(known, "data.name: unknown dataset '" + o.name + "' (known: " + names + ")");
  usage_check(o.pad_to >= 0, "data.pad_to must be >= 0, got " + std::to_string(o.pad_to));
  usage_check(o.image_size > 0, "data.image_size must be positive, got " + std::to_string(o.image_size));
  usage_check(o.train_limit >= 0, "data.train_limit must be >= 0 (0 = all), got " + std::to_string(o.train_limit));
  usage_check(o.test_limit >= 0, "data.test_limit must be >= 0 (0 = all), got " + std::to_string(o.test_limit));
  usage_check(o.mean.size() == o.std.size(), "data.mean has " + std::to_string(o.mean.size()) +
                                                  " values but data.std has " + std::to_string(o.std.size()));
  usage_check(o.augment.crop_padding >= 0, "data.augment.crop_padding must be >= 0");
  usage_check(o.augment.cutout >= 0, "data.augment.cutout must be >= 0");

  const std::filesystem::path root = o.root.empty() ? default_root(o.name) : o.root;
  DataSplits splits;
  std::shared_ptr<const Dataset> train, test;
  if (o.name == "image_folder") {
    std::tie(train, test) = read_image_folders(o, root);
  } else {
    train = read_split(o, root, Split::train);
    test = read_split(o, root, Split::test);
  }
  SUGAR_CHECK(train->num_classes() == test->num_classes() && train->class_names() == test->class_names(),
              o.name, ": the train and test sets have different classes (", train->num_classes(), ": ",
              join_names(train->class_names()), " vs ", test->num_classes(), ": ", join_names(test->class_names()), ")");
  SUGAR_CHECK(train->channels() == test->channels() && train->height() == test->height() &&
                  train->width() == test->width(),
              o.name, ": train and test images differ in shape");

  if (!o.mean.empty()) {
    splits.normalization = {o.mean, o.std};
  } else if (o.name == "image_folder") {
    splits.normalization = compute_normalization(*train);
  } else {
    splits.normalization = default_normalization(o.name);
  }
  check_normalization(splits.normalization, train->channels(), "data.mean/data.std");

  train = take_prefix(std::move(train), o.train_limit);
  try {
    auto held_out = split_validation(std::move(train), o.val_split);
    splits.train = std::move(held_out.train);
    splits.validation = std::move(held_out.validation);
  } catch (const Error& e) {
    throw Error(std::string("data.val_split: ") + e.what(), ErrorKind::usage);
  }
  splits.test = take_prefix(std::move(test), o.test_limit);
  splits.num_classes = splits.train->num_classes();
  splits.shape = splits.train->image_shape();
  // The table above and the readers must agree: what `sugar bench` and `sugar tune` build without
  // reading a file is then the model a run builds.
  const std::optional<ImageShape> documented_shape = expected_image_shape(o);
  const std::optional<int> documented_classes = expected_num_classes(o);
  SUGAR_CHECK(documented_shape && documented_shape->channels == splits.shape.channels &&
                  documented_shape->height == splits.shape.height && documented_shape->width == splits.shape.width,
              o.name, ": the reader gave images of another shape than the registry documents");
  SUGAR_CHECK(!documented_classes || *documented_classes == splits.num_classes, o.name, ": the reader gave ",
              splits.num_classes, " classes, the registry documents ", *documented_classes);
  return splits;
}

}  // namespace sugar::data
