#include "sugar/io/json_parse.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"

namespace sugar::io {

namespace {
const std::string kTooDeep = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

// 599: outside the ids nlohmann uses (1xx parse, 2xx iterator, 3xx type, 4xx range, 5xx other).
JsonTooDeep::JsonTooDeep() : nlohmann::json::exception(599, kTooDeep.c_str()) {}

JsonDuplicateKey::JsonDuplicateKey(const std::string& key)
    : nlohmann::json::exception(598, ("the key \"" + key + "\" appears twice in one object").c_str()) {}

nlohmann::json parse_json(std::string_view text) {
  using Event = nlohmann::json::parse_event_t;
  // The keys of each object being read, innermost last: a repeated key is refused (nlohmann keeps the
  // last copy silently, so a second "__metadata__" in a checkpoint header would replace the first).
  std::vector<std::set<std::string>> keys;
  // The callback sees each object or array start with the depth of its parent, before the parser
  // goes down a level, so the refusal comes while the parser's own stack is still short.
  const auto check = [&keys](int depth, Event event, const nlohmann::json& parsed) {
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxJsonDepth) throw JsonTooDeep();
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end && !keys.empty()) keys.pop_back();
    if (event == Event::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
      throw JsonDuplicateKey(parsed.get<std::string>());
    return true;
  };
  return nlohmann::json::parse(text.begin(), text.end(), check);
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
