#include "sugar/nn/conv_algorithms.hpp"

#include <cstdio>
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

std::string conv_algorithm_summary(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices) {
  // In the order a newcomer reads them: timed now, timed before, could not decide, not timed.
  const std::pair<const char*, const char*> sources[] = {{"measured", "measured"},
                                                         {"machine cache", "from this machine's store"},
                                                         {"prior", "prior (provisional)"},
                                                         {"recorded", "recorded in the checkpoint"},
                                                         {"direct only", "direct only (Winograd does not apply)"},
                                                         {"requested", "requested"}};
  std::string counts, provisional;
  for (const auto& [source, words] : sources) {
    int64_t n = 0;
    for (const auto& [name, choice] : choices) n += choice.source == source ? 1 : 0;
    if (n > 0) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + words;
  }
  for (const auto& [name, choice] : choices)
    if (choice.provisional) provisional += (provisional.empty() ? "" : ", ") + name;
  return std::to_string(choices.size()) + " convolution layers: " + counts +
         (provisional.empty() ? "" : "; provisional: " + provisional);
}

std::string conv_algorithm_lines(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices,
                                 bool notes) {
  const auto letter = [](ops::ConvAlgorithm a) { return a == ops::ConvAlgorithm::winograd ? 'W' : 'd'; };
  std::string out;
  for (const auto& [path, c] : choices) {
    const std::string source = c.source + (c.provisional ? "*" : "");
    char head[160];
    std::snprintf(head, sizeof head, "  %-22s %c%c%c  %-14s %s", path.c_str(), letter(c.algorithms.forward),
                  letter(c.algorithms.backward_data), letter(c.algorithms.backward_weights), source.c_str(),
                  c.layer.c_str());
    out += head;
    if (notes && !c.note.empty()) out.append("  (").append(c.note).append(")");
    out += "\n";
  }
  return out;
}

int64_t count_provisional(const std::vector<std::pair<std::string, ops::ConvLayerChoice>>& choices) {
  int64_t n = 0;
  for (const auto& [name, choice] : choices) n += choice.provisional ? 1 : 0;
  return n;
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
