#include "sugar/nn/conv_algorithms.hpp"

#include <nlohmann/json.hpp>

#include "sugar/error.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/nn/conv2d.hpp"

namespace sugar::nn {

void set_conv_algorithm(Module& root, ops::ConvAlgoPolicy policy) {
  for (const auto& [name, module] : root.named_modules())
    if (auto* conv = dynamic_cast<Conv2d*>(module)) conv->set_algorithm_policy(policy);
}

std::vector<std::pair<std::string, ops::ConvLayerChoice>> conv_algorithm_choices(Module& root) {
  std::vector<std::pair<std::string, ops::ConvLayerChoice>> choices;
  for (const auto& [name, module] : root.named_modules())
    if (auto* conv = dynamic_cast<Conv2d*>(module); conv != nullptr && conv->algorithm_choice())
      choices.emplace_back(name, *conv->algorithm_choice());
  return choices;
}

std::string conv_algorithm_choices_json(Module& root) {
  // ordered_json keeps module order, so the text reads like the model.
  nlohmann::ordered_json all = nlohmann::ordered_json::object();
  for (const auto& [name, choice] : conv_algorithm_choices(root))
    all[name] = nlohmann::ordered_json::parse(ops::to_json_text(choice));
  return all.dump();
}

void pin_conv_algorithm_choices(Module& root, const std::string& json_text, const std::string& where) {
  nlohmann::json all;
  try {
    all = io::parse_json(json_text);
  } catch (const std::exception&) {
    throw Error(where + ": convolution algorithm choices are not valid JSON");
  }
  SUGAR_CHECK(all.is_object(), where, ": convolution algorithm choices are not a JSON object");
  std::vector<std::pair<Conv2d*, ops::ConvLayerChoice>> pins;
  const NamedModules modules = root.named_modules();
  for (const auto& [name, value] : all.items()) {
    Conv2d* conv = nullptr;
    for (const auto& [path, module] : modules)
      if (path == name) conv = dynamic_cast<Conv2d*>(module);
    SUGAR_CHECK(conv != nullptr, where, ": convolution algorithm choice for '", name,
                "', which is no Conv2d layer of the model");
    pins.emplace_back(conv, ops::conv_layer_choice_from_json(value.dump(), where + " ('" + name + "')"));
  }
  for (const auto& [conv, choice] : pins) conv->pin_algorithms(choice);  // all or nothing
}

}  // namespace sugar::nn
