#pragma once
// The message and kind of the sugar::Error a call throws, for tests that check error text exactly.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "sugar/error.hpp"

namespace sugar::testkit {

// Calls `f`; a test failure (and an empty message) when it throws no sugar::Error.
template <class F>
std::pair<std::string, ErrorKind> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.what(), e.kind()};
  }
  ADD_FAILURE() << "no sugar::Error thrown";
  return {"", ErrorKind::runtime};
}

}  // namespace sugar::testkit
