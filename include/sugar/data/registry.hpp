#pragma once
// From a dataset name and its options (the `data:` section of a config) to the train, validation and
// test sets plus the normalisation to apply. The config layer fills DataOptions; nothing here knows YAML.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sugar/data/dataset.hpp"
#include "sugar/data/mixing.hpp"
#include "sugar/data/transforms.hpp"

namespace sugar::data {

struct DataOptions {
  // cifar10 | cifar100 | mnist | fashion_mnist | image_folder
  std::string name = "cifar10";
  // Empty = the dataset's default_root(). image_folder: a folder holding train/ and test/, each with
  // one sub-folder per class.
  std::string root;
  int pad_to = 32;              // mnist, fashion_mnist: zero-pad to pad_to x pad_to; 0 = keep 28x28
  bool coarse_labels = false;   // cifar100: the 20 superclasses instead of the 100 classes
  int image_size = 32;          // image_folder: every image is resized to image_size x image_size
  int64_t train_limit = 0;      // use the first train_limit training samples; 0 = all
  int64_t test_limit = 0;       // likewise for the test set
  double val_split = 0;         // hold out the LAST part of the (limited) training set: fraction or count
  std::vector<float> mean;      // empty = default_normalization(name) (image_folder: computed from train)
  std::vector<float> std;
  AugmentOptions augment;       // applied to the training set only
  MixOptions mix;               // mixup / cutmix of training batches (data/mixing.hpp); off by default
};

struct DataSplits {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;  // null without val_split
  std::shared_ptr<const Dataset> test;
  Normalization normalization;
  int num_classes = 0;
  ImageShape shape;
};

// The names load_data accepts: cifar10, cifar100, mnist, fashion_mnist, image_folder.
const std::vector<std::string>& dataset_names();

// Where a dataset is looked for when DataOptions::root is empty: data/cifar-10-batches-bin,
// data/cifar-100-binary, data/mnist, /usr/share/datasets/fashion-mnist (Debian's package), data/images.
std::string default_root(const std::string& name);

// The image shape a dataset's documented format implies for these options, known before any file is
// read (the config checks crops, cutouts and normalisation against it): CIFAR 3x32x32, (Fashion-)MNIST
// 1 x pad_to x pad_to (28x28 when pad_to is 0), image folders 3 x image_size x image_size. Null for
// a name that is not a dataset.
std::optional<ImageShape> expected_image_shape(const DataOptions& options);

// The class count a dataset's documented format implies for these options: CIFAR-10, MNIST and
// Fashion-MNIST 10, CIFAR-100 100 (20 with coarse_labels). Null for image folders (their sub-folders
// decide) and for a name that is not a dataset. load_data checks that its readers agree with both.
std::optional<int> expected_num_classes(const DataOptions& options);

// Reads the splits, applies train_limit, then val_split (so the validation set is the tail of the
// limited training prefix), then test_limit. Usage errors (unknown name, bad option values) throw
// sugar::Error with ErrorKind::usage; missing or malformed files throw runtime errors.
DataSplits load_data(const DataOptions& options);

}  // namespace sugar::data
