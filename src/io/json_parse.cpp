#include "sugar/io/json_parse.hpp"

#include <filesystem>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"

namespace sugar::io {

namespace {
const std::string kTooDeep = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

// 599: outside the ids nlohmann uses (1xx parse, 2xx iterator, 3xx type, 4xx range, 5xx other).
JsonTooDeep::JsonTooDeep() : nlohmann::json::exception(599, kTooDeep.c_str()) {}

nlohmann::json parse_json(std::string_view text) {
  using Event = nlohmann::json::parse_event_t;
  // The callback sees each object or array start with the depth of its parent, before the parser
  // goes down a level, so the refusal comes while the parser's own stack is still short.
  const auto limit = [](int depth, Event event, const nlohmann::json&) {
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth) throw JsonTooDeep();
    return true;
  };
  return nlohmann::json::parse(text.begin(), text.end(), limit);
}

std::optional<nlohmann::json> read_json_object(const std::string& path, const std::string& what) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::nullopt;
  nlohmann::json j;
  try {
    j = parse_json(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not " + what + " (invalid JSON: " + e.what() + ")");
  }
  if (!j.is_object()) throw Error(path + ": not " + what + " (expected a JSON object)");
  return j;
}

}  // namespace sugar::io
