#include "sugar/train/training_position.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"

namespace sugar::train {
namespace {

constexpr const char* kFormat = "sugar-checkpoint/1";
constexpr const char* kConfigMathKey = "config_math";

// %.17g reads back to the same double, so a resumed run continues with bit-identical sums.
std::string exact(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

}  // namespace

io::Metadata position_metadata(const TrainingPosition& p, const config::ExperimentConfig& config,
                               const std::string& eval_split) {
  nlohmann::json math = nlohmann::json::object();
  for (const auto& [key, value] : config::math_values(config)) math[key] = value;
  return {{"format", kFormat},
          {"config_name", config.name},
          {"seed", std::to_string(config.seed)},
          {"epoch", std::to_string(p.epoch)},
          {"batch", std::to_string(p.batch)},
          {"step", std::to_string(p.step)},
          {"best_eval_top1", exact(p.best_eval_top1)},
          {"best_epoch", std::to_string(p.best_epoch)},
          {"eval_split", eval_split},
          {"lr", exact(p.last_lr)},
          {"train_loss_sum", exact(p.loss_sum)},
          {"train_correct", std::to_string(p.correct)},
          {"train_seen", std::to_string(p.seen)},
          {"train_seconds", exact(p.train_seconds)},
          {kConfigMathKey, math.dump()}};
}

TrainingPosition read_position(const io::Metadata& metadata, const std::string& source) {
  auto field = [&](const char* key) -> const std::string& {
    auto it = metadata.find(key);
    SUGAR_CHECK(it != metadata.end(), source, ": not a training checkpoint (metadata '", key, "' is missing)");
    return it->second;
  };
  auto integer = [&](const char* key) {
    const std::string& text = field(key);
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    SUGAR_CHECK(!text.empty() && *end == '\0' && errno == 0 && value >= 0, source, ": metadata '", key,
                "' is not a non-negative integer: '", text, "'");
    return static_cast<int64_t>(value);
  };
  auto real = [&](const char* key) {
    const std::string& text = field(key);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    SUGAR_CHECK(!text.empty() && *end == '\0' && std::isfinite(value), source, ": metadata '", key,
                "' is not a finite number: '", text, "'");
    return value;
  };
  if (const auto format = metadata.find("format"); format != metadata.end())
    SUGAR_CHECK(format->second == kFormat, source, ": unknown checkpoint format '", format->second, "' (expected ", kFormat, ")");
  TrainingPosition p;
  p.epoch = integer("epoch");
  p.batch = integer("batch");
  p.step = integer("step");
  p.best_eval_top1 = real("best_eval_top1");
  p.best_epoch = integer("best_epoch");
  p.last_lr = real("lr");
  p.loss_sum = real("train_loss_sum");
  p.correct = integer("train_correct");
  p.seen = integer("train_seen");
  p.train_seconds = real("train_seconds");
  // Counters that contradict each other were not written by the trainer.
  SUGAR_CHECK(p.best_epoch <= p.epoch, source, ": metadata 'best_epoch' ", p.best_epoch, " is after 'epoch' ", p.epoch);
  SUGAR_CHECK(p.best_eval_top1 == -1 || (p.best_eval_top1 >= 0 && p.best_eval_top1 <= 100), source,
              ": metadata 'best_eval_top1' ", p.best_eval_top1, " is not a percentage");
  SUGAR_CHECK(p.correct <= p.seen, source, ": metadata 'train_correct' ", p.correct, " exceeds 'train_seen' ", p.seen);
  SUGAR_CHECK(p.step >= p.batch, source, ": metadata 'step' ", p.step, " is smaller than 'batch' ", p.batch);
  SUGAR_CHECK(p.loss_sum >= 0 && p.train_seconds >= 0, source, ": metadata 'train_loss_sum' and 'train_seconds' must not be negative");
  return p;
}

std::optional<std::map<std::string, std::string>> recorded_math_values(const io::Metadata& metadata,
                                                                       const std::string& source) {
  const auto it = metadata.find(kConfigMathKey);
  if (it == metadata.end()) return std::nullopt;
  nlohmann::json parsed;
  try {
    parsed = io::parse_json(it->second);
  } catch (const nlohmann::json::exception&) {
    throw Error(source + ": metadata '" + kConfigMathKey + "' is not valid JSON");
  }
  SUGAR_CHECK(parsed.is_object(), source, ": metadata '", kConfigMathKey, "' is not a JSON object");
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : parsed.items()) {
    SUGAR_CHECK(value.is_string(), source, ": metadata '", kConfigMathKey, "' entry '", key, "' is not a string");
    values[key] = value.get<std::string>();
  }
  // A checkpoint from before a key existed was trained with the value that reproduces it.
  for (const config::KeyAddedLater& key : config::keys_added_later()) values.try_emplace(key.path, key.value_before);
  return values;
}

std::vector<ConfigDifference> config_differences(const io::Metadata& metadata, const config::ExperimentConfig& config,
                                                 const std::string& source, const std::vector<std::string>& ignored) {
  std::vector<ConfigDifference> differences;
  const auto recorded = recorded_math_values(metadata, source);
  if (!recorded) return differences;
  for (const auto& [key, value] : config::math_values(config)) {
    if (std::find(ignored.begin(), ignored.end(), key) != ignored.end()) continue;
    const auto it = recorded->find(key);
    if (it != recorded->end() && it->second != value) differences.push_back({key, value, it->second});
  }
  return differences;
}

}  // namespace sugar::train
