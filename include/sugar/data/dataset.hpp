#pragma once
// Datasets of small labelled images. Every reader in sugar/data loads the whole split into memory as
// uint8 CHW pixels (CIFAR-10 train is 150 MB this way, 4x less than as floats) and converts a sample
// to float only when it is asked for, so that the loader's workers pay for conversion in parallel.
//
// Shape letters: C channels, H height, W width (see tensor.hpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sugar::data {

enum class Split { train, test };
const char* split_name(Split split);

struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  int64_t numel() const { return int64_t{channels} * height * width; }
};

// One image as float CHW in [0, 1] (pixel / 255) and its class.
struct Sample {
  std::vector<float> image;
  int32_t label = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual int num_classes() const = 0;
  virtual ImageShape image_shape() const = 0;
  // Class names in label order; empty when the format does not say.
  virtual const std::vector<std::string>& class_names() const = 0;
  // A human-readable name for messages, e.g. "cifar10 train".
  virtual std::string description() const = 0;
  // The C*H*W bytes of image i in CHW order; valid while the dataset lives. i must be in range.
  virtual const uint8_t* pixels(int64_t i) const = 0;
  virtual int32_t label(int64_t i) const = 0;

  int channels() const { return image_shape().channels; }
  int height() const { return image_shape().height; }
  int width() const { return image_shape().width; }

  // Image i as float CHW in [0, 1] plus its label; throws sugar::Error when i is out of range.
  Sample get(int64_t i) const;
  // Writes image i as C*H*W floats in [0, 1] to `out`.
  void get_into(int64_t i, float* out) const;
  // Throws sugar::Error naming the dataset when i is not in [0, size()).
  void check_index(int64_t i) const;
};

// The dataset every reader returns: pixels and labels held in memory.
class InMemoryDataset final : public Dataset {
 public:
  // pixels holds labels.size() images of shape.numel() bytes each; every label is in [0, num_classes).
  InMemoryDataset(std::string description, ImageShape shape, int num_classes, std::vector<std::string> class_names,
                  std::vector<uint8_t> pixels, std::vector<int32_t> labels);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int num_classes() const override { return num_classes_; }
  ImageShape image_shape() const override { return shape_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  std::string description() const override { return description_; }
  const uint8_t* pixels(int64_t i) const override { return pixels_.data() + i * shape_.numel(); }
  int32_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }

 private:
  std::string description_;
  ImageShape shape_;
  int num_classes_;
  std::vector<std::string> class_names_;
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
};

// A contiguous range [begin, begin + count) of another dataset, sharing its memory. Used for
// train_limit/test_limit (a prefix) and val_split (the tail of the training set).
class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> parent, int64_t begin, int64_t count, std::string description);

  int64_t size() const override { return count_; }
  int num_classes() const override { return parent_->num_classes(); }
  ImageShape image_shape() const override { return parent_->image_shape(); }
  const std::vector<std::string>& class_names() const override { return parent_->class_names(); }
  std::string description() const override { return description_; }
  const uint8_t* pixels(int64_t i) const override { return parent_->pixels(begin_ + i); }
  int32_t label(int64_t i) const override { return parent_->label(begin_ + i); }

 private:
  std::shared_ptr<const Dataset> parent_;
  int64_t begin_;
  int64_t count_;
  std::string description_;
};

// The first `limit` samples (all of them when limit is 0 or at least size()). Negative limit: error.
std::shared_ptr<const Dataset> take_prefix(std::shared_ptr<const Dataset> dataset, int64_t limit);

// How many training samples val_split holds out: a value in (0, 1) is a fraction of the set
// (rounded down, at least 1), a whole number >= 1 is a count, 0 means none. The result must leave
// at least one training sample; anything else is an error.
int64_t validation_count(double val_split, int64_t train_size);

struct TrainValidation {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;  // null when val_split is 0
};
// Holds out the LAST validation_count(val_split, n) samples of `train` as the validation set, so
// the split is deterministic and independent of the seed.
TrainValidation split_validation(std::shared_ptr<const Dataset> train, double val_split);

// Labels counted per class (size num_classes()).
std::vector<int64_t> label_histogram(const Dataset& dataset);

}  // namespace sugar::data
