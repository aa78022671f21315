#include "sugar/data/dataset.hpp"

#include <cmath>

#include "sugar/error.hpp"

namespace sugar::data {

const char* split_name(Split split) { return split == Split::train ? "train" : "test"; }

void Dataset::check_index(int64_t i) const {
  SUGAR_CHECK(i >= 0 && i < size(), description(), ": sample index ", i, " is out of range for a dataset of ",
              size(), " samples");
}

void Dataset::get_into(int64_t i, float* out) const {
  check_index(i);
  const uint8_t* src = pixels(i);
  const int64_t n = image_shape().numel();
  constexpr float scale = 1.0f / 255.0f;
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(src[k]) * scale;
}

Sample Dataset::get(int64_t i) const {
  check_index(i);
  Sample sample;
  sample.image.resize(static_cast<size_t>(image_shape().numel()));
  get_into(i, sample.image.data());
  sample.label = label(i);
  return sample;
}

InMemoryDataset::InMemoryDataset(std::string description, ImageShape shape, int num_classes,
                                 std::vector<std::string> class_names, std::vector<uint8_t> pixels,
                                 std::vector<int32_t> labels)
    : description_(std::move(description)),
      shape_(shape),
      num_classes_(num_classes),
      class_names_(std::move(class_names)),
      pixels_(std::move(pixels)),
      labels_(std::move(labels)) {
  SUGAR_CHECK(shape_.channels > 0 && shape_.height > 0 && shape_.width > 0, description_,
              ": image shape must be positive, got ", shape_.channels, "x", shape_.height, "x", shape_.width);
  SUGAR_CHECK(num_classes_ > 0, description_, ": num_classes must be positive, got ", num_classes_);
  SUGAR_CHECK(class_names_.empty() || static_cast<int>(class_names_.size()) == num_classes_, description_, ": ",
              class_names_.size(), " class names for ", num_classes_, " classes");
  SUGAR_CHECK(static_cast<int64_t>(pixels_.size()) == size() * shape_.numel(), description_, ": ",
              pixels_.size(), " pixel bytes for ", size(), " images of ", shape_.numel(), " bytes");
  for (size_t i = 0; i < labels_.size(); ++i)
    SUGAR_CHECK(labels_[i] >= 0 && labels_[i] < num_classes_, description_, ": sample ", i, " has label ",
                labels_[i], ", outside [0, ", num_classes_, ")");
}

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> parent, int64_t begin, int64_t count,
                             std::string description)
    : parent_(std::move(parent)), begin_(begin), count_(count), description_(std::move(description)) {
  SUGAR_CHECK(parent_ != nullptr, "SubsetDataset: parent dataset is null");
  SUGAR_CHECK(begin_ >= 0 && count_ >= 0 && begin_ + count_ <= parent_->size(), parent_->description(),
              ": subset [", begin_, ", ", begin_ + count_, ") does not fit in ", parent_->size(), " samples");
}

std::shared_ptr<const Dataset> take_prefix(std::shared_ptr<const Dataset> dataset, int64_t limit) {
  SUGAR_CHECK(limit >= 0, dataset->description(), ": limit must be >= 0 (0 = everything), got ", limit);
  if (limit == 0 || limit >= dataset->size()) return dataset;
  auto description = dataset->description() + " (first " + std::to_string(limit) + ")";
  return std::make_shared<SubsetDataset>(dataset, 0, limit, std::move(description));
}

int64_t validation_count(double val_split, int64_t train_size) {
  SUGAR_CHECK(std::isfinite(val_split) && val_split >= 0, "val_split must be 0, a fraction in (0, 1) or a count >= 1, got ",
              val_split);
  if (val_split == 0) return 0;
  int64_t count = 0;
  if (val_split < 1) {
    count = std::max<int64_t>(1, static_cast<int64_t>(std::floor(val_split * static_cast<double>(train_size))));
  } else {
    SUGAR_CHECK(val_split == std::floor(val_split), "val_split ", val_split,
                " is neither a fraction in (0, 1) nor a whole number of samples");
    count = static_cast<int64_t>(val_split);
  }
  SUGAR_CHECK(count < train_size, "val_split ", val_split, " holds out ", count, " of ", train_size,
              " training samples, leaving none to train on");
  return count;
}

TrainValidation split_validation(std::shared_ptr<const Dataset> train, double val_split) {
  const int64_t n = train->size();
  const int64_t held_out = validation_count(val_split, n);
  if (held_out == 0) return {std::move(train), nullptr};
  const std::string name = train->description();
  auto validation = std::make_shared<SubsetDataset>(train, n - held_out, held_out,
                                                    name + " (validation: last " + std::to_string(held_out) + ")");
  auto kept = std::make_shared<SubsetDataset>(train, 0, n - held_out,
                                              name + " (first " + std::to_string(n - held_out) + ")");
  return {std::move(kept), std::move(validation)};
}

std::vector<int64_t> label_histogram(const Dataset& dataset) {
  std::vector<int64_t> counts(static_cast<size_t>(dataset.num_classes()), 0);
  for (int64_t i = 0; i < dataset.size(); ++i) ++counts[static_cast<size_t>(dataset.label(i))];
  return counts;
}

}  // namespace sugar::data
