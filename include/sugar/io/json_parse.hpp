#pragma once
// Parsing JSON that comes from files (safetensors headers, status.json, run.json, sweep claims, the
// convolution algorithm store). nlohmann::json parses without recursion, but dumping, copying and
// comparing a value recurse once per level, so a file nested 100,000 levels deep would overflow the
// stack later, far from the read. Every such parse goes through here and refuses more than
// kMaxJsonDepth levels; what Sugar writes is at most four deep.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sugar::io {

inline constexpr int kMaxJsonDepth = 64;

// Thrown for JSON nested deeper than kMaxJsonDepth. A nlohmann::json::exception like the parser's own
// errors, so a caller's existing `catch (const nlohmann::json::exception&)` reports it as invalid JSON.
class JsonTooDeep : public nlohmann::json::exception {
 public:
  JsonTooDeep();
};

// Thrown for an object that names a key twice (nlohmann would keep the last copy without a word).
class JsonDuplicateKey : public nlohmann::json::exception {
 public:
  explicit JsonDuplicateKey(const std::string& key);
};

// nlohmann::json::parse(text) with the depth limit and no repeated keys; throws what it throws,
// JsonTooDeep or JsonDuplicateKey.
nlohmann::json parse_json(std::string_view text);

// The JSON object in the file at `path`; nullopt when there is no such file. A file that is not a JSON
// object is a sugar::Error "<path>: not <what> (invalid JSON: ...)" or "(expected a JSON object)".
std::optional<nlohmann::json> read_json_object(const std::string& path, const std::string& what);

}  // namespace sugar::io
