#pragma once
// Range checks for numeric command-line options. CLI11's Range lets NaN through (every comparison
// with NaN is false), and a text that does not convert gets a message without the allowed range;
// within() checks the text itself before CLI11 converts it, so `--lr nan`, `--stale-after 1e300` and
// `--batch 9223372036854775808` all end as "--lr: expected a number in [...], got 'nan'" (exit 2).
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

namespace sugar::cli {

namespace detail {
template <class T>
std::string bound(T value) {
  if constexpr (std::is_floating_point_v<T>) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
  } else {
    return std::to_string(value);
  }
}
}  // namespace detail

// Accepts exactly the texts that are a finite T in [low, high] (a whole number for integer T).
template <class T>
CLI::Validator within(T low, T high) {
  const std::string range = "[" + detail::bound(low) + ", " + detail::bound(high) + "]";
  const std::string expected = std::string(std::is_floating_point_v<T> ? "a number" : "a whole number") + " in " + range;
  return CLI::Validator(
      [=](std::string& input) -> std::string {
        std::string_view text = input;
        if (text.size() > 1 && text[0] == '+') text.remove_prefix(1);
        T value{};
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        bool ok = error == std::errc() && end == text.data() + text.size();
        if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(value);
        if (ok && low <= value && value <= high) return "";
        return "expected " + expected + ", got '" + input + "'";
      },
      range);
}

}  // namespace sugar::cli
