#include "sugar/train/checkpoint.hpp"

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/nn/random_calls.hpp"
#include "sugar/nn/conv_algorithms.hpp"

namespace sugar::train {
namespace {

using io::StDtype;

constexpr const char* kOptimizerKey = "optimizer";
constexpr const char* kRngCallsKey = "rng_calls";
constexpr const char* kConvAlgorithmsKey = "conv_algorithms";

// The per-module call counters that key random draws (dropout masks, rrelu slopes, stochastic depth).
std::map<std::string, nn::RandomCalls*> random_counters(nn::Module& model) {
  std::map<std::string, nn::RandomCalls*> counters;
  for (auto& [path, module] : model.named_modules())
    if (auto* counted = dynamic_cast<nn::RandomCalls*>(module)) counters[path] = counted;
  return counters;
}

io::TensorToWrite f32_entry(const std::string& name, const Tensor& t) {
  SUGAR_CHECK(t.dtype() == DType::f32 && t.is_plain(), "save_checkpoint: tensor '", name, "' must be plain f32, got ",
              describe(t.desc()));
  return {name, StDtype::f32, t.shape(), t.raw_data(), static_cast<size_t>(t.numel()) * sizeof(float)};
}

// A short list of names for messages: "a, b, c and 7 more".
std::string some_names(const std::vector<std::string>& names) {
  std::string text;
  const size_t shown = std::min<size_t>(names.size(), 4);
  for (size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > shown) text += " and " + std::to_string(names.size() - shown) + " more";
  return text;
}

struct ExpectedEntry {
  Shape shape;
  bool is_counter = false;  // I64 scalar
};

void check_entry(const io::SafetensorsFile& file, const std::string& name, const ExpectedEntry& expected,
                 ModelEntryTypes types, std::vector<std::string>* problems) {
  const io::TensorInfo& info = file.info(name);
  if (expected.is_counter) {
    if (info.dtype != StDtype::i64 || !info.shape.empty()) {
      problems->push_back(name + " is " + io::dtype_text(info.dtype) + " " + shape_string(info.shape) +
                          ", expected an I64 scalar []");
    }
    return;
  }
  const bool type_accepted =
      info.dtype == StDtype::f32 || (info.dtype == StDtype::bf16 && types == ModelEntryTypes::f32_or_bf16);
  if (!type_accepted) {
    problems->push_back(name + " is " + io::dtype_text(info.dtype) + ", expected F32" +
                        (types == ModelEntryTypes::f32_or_bf16 ? " or BF16" : ""));
  } else if (info.shape != expected.shape) {
    problems->push_back(name + " has shape " + shape_string(info.shape) + " in the file but " +
                        shape_string(expected.shape) + " in the model");
  }
}

Tensor tensor_from_file(const io::SafetensorsFile& file, const std::string& name) {
  return Tensor::from_vector(file.info(name).shape, file.to_f32(name));
}

void copy_into(const io::SafetensorsFile& file, const std::string& name, Tensor& target) {
  const std::vector<float> values = file.to_f32(name);
  std::memcpy(target.raw_data(), values.data(), values.size() * sizeof(float));
  target.bump_version();
}

}  // namespace

void save_checkpoint(const std::string& path, nn::Module& model, const optim::Optimizer* optimizer,
                     const io::Metadata& metadata) {
  io::write_file_atomic(path, checkpoint_bytes(model, optimizer, metadata));
}

std::string checkpoint_bytes(nn::Module& model, const optim::Optimizer* optimizer, const io::Metadata& metadata) {
  std::vector<io::TensorToWrite> entries;
  for (const auto& [name, t] : model.named_parameters()) entries.push_back(f32_entry(name, t));
  for (const auto& [name, t] : model.named_buffers()) entries.push_back(f32_entry(name, t));
  const nn::NamedCounters counters = model.named_counters();
  for (const auto& [name, value] : counters) entries.push_back({name, StDtype::i64, {}, value, sizeof(int64_t)});

  io::Metadata meta = metadata;
  SUGAR_CHECK(!meta.count(kOptimizerKey) && !meta.count(kRngCallsKey) && !meta.count(kConvAlgorithmsKey),
              "save_checkpoint: metadata keys '", kOptimizerKey, "', '", kRngCallsKey, "' and '", kConvAlgorithmsKey,
              "' are reserved");
  std::vector<std::pair<std::string, int64_t>> optimizer_counters;
  std::vector<std::pair<std::string, Tensor>> optimizer_state;
  std::vector<Tensor> keep_alive;
  if (optimizer != nullptr) {
    meta[kOptimizerKey] = optimizer->type_name();
    optimizer_state = optimizer->named_state();
    optimizer_counters = optimizer->named_counters();
    for (const auto& [name, t] : optimizer_state) {
      // Entries borrow bytes, so converted copies must outlive the serialisation.
      keep_alive.push_back(t.dtype() == DType::f32 && t.is_plain() ? t : t.to_dtype(DType::f32).to_plain());
      entries.push_back(f32_entry(kOptimizerPrefix + name, keep_alive.back()));
    }
    for (const auto& [name, value] : optimizer_counters) {
      entries.push_back({kOptimizerPrefix + name, StDtype::i64, {}, &value, sizeof(int64_t)});
    }
  }
  nlohmann::json calls = nlohmann::json::object();
  for (const auto& [path, counter] : random_counters(model)) calls[path] = counter->calls();
  meta[kRngCallsKey] = calls.dump();
  // Only layers that have run have chosen; a checkpoint of a model that never ran records nothing.
  if (!nn::conv_algorithm_choices(model).empty()) meta[kConvAlgorithmsKey] = nn::conv_algorithm_choices_json(model);
  return io::serialize_safetensors(entries, meta);
}

io::Metadata load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer) {
  return load_checkpoint(io::SafetensorsFile::read(path), model, optimizer);
}

void check_model_entries(const io::SafetensorsFile& file, nn::Module& model, ModelEntryTypes types) {
  const std::string& source = file.source();
  std::map<std::string, ExpectedEntry> expected;
  for (const auto& [name, t] : model.named_parameters()) expected[name] = {t.shape(), false};
  for (const auto& [name, t] : model.named_buffers()) expected[name] = {t.shape(), false};
  for (const auto& [name, value] : model.named_counters()) expected[name] = {{}, true};

  std::vector<std::string> missing, unexpected, problems;
  for (const auto& [name, entry] : expected) {
    if (!file.contains(name)) missing.push_back(name);
    else check_entry(file, name, entry, types, &problems);
  }
  for (const std::string& name : file.names())
    if (!name.starts_with(kOptimizerPrefix) && !expected.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty()) {
    std::string message = source + " does not fit this model (" + model.display_name() + "):";
    if (!missing.empty()) message += " missing " + std::to_string(missing.size()) + " tensors (" + some_names(missing) + ")";
    if (!unexpected.empty()) {
      message += std::string(missing.empty() ? "" : ";") + " unexpected " + std::to_string(unexpected.size()) +
                 " tensors (" + some_names(unexpected) + ")";
    }
    throw Error(message);
  }
  if (!problems.empty()) throw Error(source + " does not fit this model: " + some_names(problems));
}

void load_model_entries(const io::SafetensorsFile& file, nn::Module& model) {
  for (auto [name, t] : model.named_parameters()) copy_into(file, name, t);
  for (auto [name, t] : model.named_buffers()) copy_into(file, name, t);
  for (const auto& [name, value] : model.named_counters()) *value = file.to_i64(name).front();
}

io::Metadata load_checkpoint(const io::SafetensorsFile& file, nn::Module& model, optim::Optimizer* optimizer) {
  const std::string& source = file.source();
  // ---- validate: model ------------------------------------------------------------------------
  check_model_entries(file, model, ModelEntryTypes::f32_or_bf16);
  const nn::NamedTensors parameters = model.named_parameters();
  std::vector<std::string> optimizer_entries;
  for (const std::string& name : file.names())
    if (name.starts_with(kOptimizerPrefix)) optimizer_entries.push_back(name);

  // ---- validate: optimizer --------------------------------------------------------------------
  std::map<std::string, Shape> parameter_shapes;
  for (const auto& [name, t] : parameters) parameter_shapes[name] = t.shape();
  if (optimizer != nullptr) {
    const auto type = file.metadata().find(kOptimizerKey);
    SUGAR_CHECK(type != file.metadata().end() || optimizer_entries.empty(), source,
                ": optimizer entries without the 'optimizer' metadata key");
    if (type != file.metadata().end()) {
      SUGAR_CHECK(type->second == optimizer->type_name(), source, ": holds the state of a ", type->second,
                  " optimizer, not of ", optimizer->type_name());
    }
    for (const std::string& key : optimizer_entries) {
      const std::string name = key.substr(std::strlen(kOptimizerPrefix));
      // "<parameter name>.<slot>": the parameter is the longest known prefix before a dot.
      const size_t dot = name.rfind('.');
      const auto param = dot == std::string::npos ? parameter_shapes.end() : parameter_shapes.find(name.substr(0, dot));
      SUGAR_CHECK(param != parameter_shapes.end(), source, ": optimizer entry '", key,
                  "' names no parameter of this model");
      const io::TensorInfo& info = file.info(key);
      if (info.dtype == StDtype::i64) {
        SUGAR_CHECK(info.shape.empty(), source, ": optimizer counter '", key, "' has shape ", shape_string(info.shape),
                    ", expected []");
      } else {
        SUGAR_CHECK(info.shape == param->second, source, ": optimizer state '", key, "' has shape ",
                    shape_string(info.shape), " but its parameter has ", shape_string(param->second));
      }
    }
  }

  // ---- validate: random counters --------------------------------------------------------------
  std::map<std::string, nn::RandomCalls*> random = random_counters(model);
  std::map<std::string, uint64_t> calls;
  if (auto it = file.metadata().find(kRngCallsKey); it != file.metadata().end()) {
    nlohmann::json parsed;
    try {
      parsed = io::parse_json(it->second);
    } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range for a number like 1e999
      throw Error(source + ": metadata '" + kRngCallsKey + "' is not valid JSON");
    }
    SUGAR_CHECK(parsed.is_object(), source, ": metadata '", kRngCallsKey, "' is not a JSON object");
    for (auto entry = parsed.begin(); entry != parsed.end(); ++entry) {
      SUGAR_CHECK(random.count(entry.key()), source, ": metadata '", kRngCallsKey, "' names module '", entry.key(),
                  "', which this model lacks or which draws no random numbers");
      SUGAR_CHECK(entry.value().is_number_unsigned(), source, ": metadata '", kRngCallsKey, "' for '", entry.key(),
                  "' is not a non-negative integer");
      calls[entry.key()] = entry.value().get<uint64_t>();
    }
  }

  // ---- convolution algorithms: validated as a whole, then pinned (the first change) -------------
  if (auto it = file.metadata().find(kConvAlgorithmsKey); it != file.metadata().end())
    nn::pin_conv_algorithm_choices(model, it->second, source + ": metadata '" + kConvAlgorithmsKey + "'");

  // ---- load -----------------------------------------------------------------------------------
  load_model_entries(file, model);
  if (optimizer != nullptr) {
    for (const std::string& key : optimizer_entries) {
      const std::string name = key.substr(std::strlen(kOptimizerPrefix));
      if (file.info(key).dtype == StDtype::i64) optimizer->load_counter(name, file.to_i64(key).front());
      else optimizer->load_state(name, tensor_from_file(file, key));
    }
  }
  for (auto& [path, counter] : random) counter->set_calls(calls.count(path) ? calls[path] : 0);
  return file.metadata();
}

}  // namespace sugar::train
