#pragma once
// One error type for the whole library. It carries enough context (op, shapes, file, key path)
// that the command line can print it as one line and the user knows what to fix.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace sugar {

enum class ErrorKind {
  usage,    // bad arguments, bad config: exit code 2
  runtime,  // failure while running: exit code 1
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::runtime)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return kind_ == ErrorKind::usage ? 2 : 1; }

 private:
  ErrorKind kind_;
};

// Throws an Error of kind usage (the user's input was wrong: exit code 2).
[[noreturn]] inline void usage_error(const std::string& message) { throw Error(message, ErrorKind::usage); }

// Formats a shape as [3, 5, 7, 7].
std::string shape_string(const std::vector<int64_t>& dims);

namespace detail {
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

// SUGAR_CHECK(cond, "conv2d: ...", value, ...) throws sugar::Error with the parts concatenated.
#define SUGAR_CHECK(cond, ...)                                        \
  do {                                                                \
    if (!(cond)) throw ::sugar::Error(::sugar::detail::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace sugar
