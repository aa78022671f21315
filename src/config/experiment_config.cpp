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
  // model.init: every run before it drew torchvision's convolution init. optim.weight_decay_on,
  // optim.clip_grad_norm, data.augment.random_erasing and data.mix.*: before them, decay applied to
  // every parameter, nothing was clipped, erased or mixed.
  static const std::vector<KeyAddedLater> keys{
      {"model.init", "torchvision"},
      {"optim.weight_decay_on", "all"},
      {"optim.clip_grad_norm", "0"},
      {"data.augment.random_erasing", "0"},
      {"data.mix.mixup_alpha", "0"},
      {"data.mix.cutmix_alpha", "0"},
      {"data.mix.probability", "1"},
      {"data.mix.switch_probability", "0.5"}};
  return keys;
}

const std::vector<std::string>& non_math_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> paths;
    for (const ConfigField& field : config_fields())
      if (!field.changes_math) paths.push_back(field.path);
    paths.push_back("sweep");
    return paths;
  }();
  return keys;
}

std::vector<std::pair<std::string, std::string>> math_values(const ExperimentConfig& config) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const ConfigField& field : config_fields())
    if (field.changes_math) values.emplace_back(field.path, field.write(config));
  return values;
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

const NameTable<NonfinitePolicy>& names_of(NonfinitePolicy) {
  static const NameTable<NonfinitePolicy> table{{NonfinitePolicy::stop, "stop"},
                                                {NonfinitePolicy::skip_batch, "skip_batch"}};
  return table;
}

const NameTable<Recompute>& names_of(Recompute) {
  static const NameTable<Recompute> table{{Recompute::automatic, "auto"}, {Recompute::on, "true"}, {Recompute::off, "false"}};
  return table;
}

bool recompute_enabled(Recompute recompute, DType dtype) {
  return recompute == Recompute::automatic ? dtype == DType::f32 : recompute == Recompute::on;
}

}  // namespace sugar::config
