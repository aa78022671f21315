// Names, the pick between two measured times, and the JSON form of a convolution algorithm choice
// (see conv_algorithm.hpp). The decision itself is in conv2d_select.cpp.
#include "sugar/ops/conv_algorithm.hpp"

#include <nlohmann/json.hpp>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/text.hpp"

namespace sugar::ops {

const NameTable<ConvAlgoPolicy>& names_of(ConvAlgoPolicy) {
  static const NameTable<ConvAlgoPolicy> table{
      {ConvAlgoPolicy::automatic, "auto"}, {ConvAlgoPolicy::direct, "direct"}, {ConvAlgoPolicy::winograd, "winograd"}};
  return table;
}

const char* conv_algo_policy_name(ConvAlgoPolicy policy) { return name_of(policy).c_str(); }

ConvAlgoPolicy parse_conv_algo_policy(const std::string& text) {
  if (const auto policy = find_named<ConvAlgoPolicy>(text)) return *policy;
  throw Error("unknown convolution algorithm '" + text + "' (known: " + text::join(names_of(ConvAlgoPolicy{}).names()) + ")",
              ErrorKind::usage);
}

const char* conv_algorithm_name(ConvAlgorithm algorithm) {
  return algorithm == ConvAlgorithm::winograd ? "winograd" : "direct";
}

ConvAlgorithm parse_conv_algorithm(const std::string& text) {
  if (text == "direct") return ConvAlgorithm::direct;
  if (text == "winograd") return ConvAlgorithm::winograd;
  throw Error("unknown convolution algorithm '" + text + "' (known: direct, winograd)", ErrorKind::usage);
}

bool ConvPassAlgorithms::uses_winograd() const {
  return forward == ConvAlgorithm::winograd || backward_data == ConvAlgorithm::winograd ||
         backward_weights == ConvAlgorithm::winograd;
}

std::string to_json_text(const ConvLayerChoice& c) {
  const nlohmann::json j = {{"layer", c.layer},
                            {"policy", conv_algo_policy_name(c.policy)},
                            {"forward", conv_algorithm_name(c.algorithms.forward)},
                            {"backward_data", conv_algorithm_name(c.algorithms.backward_data)},
                            {"backward_weights", conv_algorithm_name(c.algorithms.backward_weights)},
                            {"source", c.source},
                            {"provisional", c.provisional},
                            {"note", c.note}};
  return j.dump();
}

ConvLayerChoice conv_layer_choice_from_json(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = io::parse_json(text);
  } catch (const std::exception&) {
    throw Error(where + ": convolution algorithm choice is not valid JSON");
  }
  SUGAR_CHECK(j.is_object(), where, ": convolution algorithm choice is not a JSON object");
  const auto field = [&](const char* key) {
    SUGAR_CHECK(j.contains(key) && j[key].is_string(), where, ": convolution algorithm choice has no string '", key,
                "'");
    return j[key].get<std::string>();
  };
  const auto parsed = [&](const char* key, auto parse) {
    const std::string value = field(key);
    try {
      return parse(value);
    } catch (const Error& e) {
      throw Error(where + ": '" + key + "': " + e.what());
    }
  };
  ConvLayerChoice c;
  c.layer = field("layer");
  c.policy = parsed("policy", parse_conv_algo_policy);
  c.algorithms.forward = parsed("forward", parse_conv_algorithm);
  c.algorithms.backward_data = parsed("backward_data", parse_conv_algorithm);
  c.algorithms.backward_weights = parsed("backward_weights", parse_conv_algorithm);
  c.source = field("source");
  if (j.contains("provisional")) {
    SUGAR_CHECK(j["provisional"].is_boolean(), where, ": convolution algorithm choice's 'provisional' is not true or false");
    c.provisional = j["provisional"].get<bool>();
  }
  c.note = field("note");
  return c;
}

}  // namespace sugar::ops
