#include "sugar/config/experiment_config.hpp"

#include <algorithm>

#include "sugar/config/config_schema.hpp"
#include "sugar/error.hpp"

namespace sugar::config {

std::vector<std::string> diff_keys(const ExperimentConfig& a, const ExperimentConfig& b) {
  // Each field's written text is canonical, so equal text means equal value (doubles included: the
  // shortest round-trip decimal of a double names exactly that double).
  std::vector<std::string> keys;
  for (const ConfigField& field : config_fields())
    if (field.write(a) != field.write(b)) keys.push_back(field.path);
  if (a.sweep != b.sweep) keys.push_back("sweep");
  return keys;
}

bool operator==(const ExperimentConfig& a, const ExperimentConfig& b) { return diff_keys(a, b).empty(); }

const std::vector<KeyAddedLater>& keys_added_later() {
  // model.init: every run before it drew torchvision's convolution init.
  static const std::vector<KeyAddedLater> keys{{"model.init", "torchvision"}};
  return keys;
}

const std::vector<std::string>& non_math_keys() {
  static const std::vector<std::string> keys{"name",
                                             "data.root",
                                             "train.threads",
                                             "train.eval_batch_size",
                                             "train.eval_every",
                                             "train.checkpoint_every_steps",
                                             "train.conv_algo",
                                             "train.neuron_stats",
                                             "train.recompute",
                                             // Where the initial weights were; what they were is
                                             // model.init_from_sha256, a math key.
                                             "model.init_from",
                                             "sweep"};
  return keys;
}

std::vector<std::pair<std::string, std::string>> math_values(const ExperimentConfig& config) {
  const std::vector<std::string>& free_keys = non_math_keys();
  std::vector<std::pair<std::string, std::string>> values;
  for (const ConfigField& field : config_fields())
    if (std::find(free_keys.begin(), free_keys.end(), field.path) == free_keys.end())
      values.emplace_back(field.path, field.write(config));
  return values;
}

std::optional<data::ImageShape> expected_image_shape(const data::DataOptions& options) {
  if (options.name == "cifar10" || options.name == "cifar100") return data::ImageShape{3, 32, 32};
  if (options.name == "mnist" || options.name == "fashion_mnist") {
    const int side = options.pad_to > 0 ? options.pad_to : 28;
    return data::ImageShape{1, side, side};
  }
  if (options.name == "image_folder") return data::ImageShape{3, options.image_size, options.image_size};
  return std::nullopt;
}

std::optional<KeyProblem> image_shape_problem(const ExperimentConfig& config, const data::ImageShape& shape,
                                             const std::string& images_suffix) {
  const std::string images = std::to_string(shape.height) + "x" + std::to_string(shape.width) + " images" + images_suffix;
  const int side = std::min(shape.height, shape.width);
  const data::AugmentOptions& augment = config.data.augment;
  // A padding as wide as the image would let a crop hold nothing but padding.
  if (augment.crop_padding >= side && augment.crop_padding > 0)
    return KeyProblem{"data.augment.crop_padding",
                      std::to_string(augment.crop_padding) + " is not smaller than the " + images + "; expected at most " +
                          std::to_string(side - 1)};
  if (augment.cutout > side)
    return KeyProblem{"data.augment.cutout", std::to_string(augment.cutout) + " is larger than the " + images +
                                                 "; expected at most " + std::to_string(side)};
  const std::string channels = std::to_string(shape.channels) + "-channel images" + images_suffix;
  for (const auto& [key, values] : {std::pair{"data.mean", &config.data.mean}, std::pair{"data.std", &config.data.std}}) {
    const size_t n = values->size();
    if (n != 0 && n != 1 && n != static_cast<size_t>(shape.channels))
      return KeyProblem{key, std::to_string(n) + " values for " + channels + "; expected 1" +
                                 (shape.channels > 1 ? " or " + std::to_string(shape.channels) : "")};
  }
  return std::nullopt;
}

void validate_against(const ExperimentConfig& config, const data::ImageShape& shape) {
  if (const auto problem = image_shape_problem(config, shape))
    throw Error(problem->key + ": " + problem->what, ErrorKind::usage);
}

bool recompute_enabled(const std::string& recompute, const std::string& dtype) {
  return recompute == "auto" ? dtype == "f32" : recompute == "true";
}

}  // namespace sugar::config
