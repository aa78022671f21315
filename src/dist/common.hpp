#pragma once
// Small pieces every communicator implementation shares. Internal to src/dist.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sugar/error.hpp"

namespace sugar::dist {

inline void check_count(const char* op, int64_t count) {
  SUGAR_CHECK(count >= 0, "dist::", op, ": negative element count ", count);
}

// Ends this process at once. _Exit, not exit: other threads (the data loader, the communication
// thread) may still run, and static destructors under them could crash; flush what the user should
// see first.
[[noreturn]] inline void exit_now(int exit_code) {
  std::fflush(nullptr);
  std::_Exit(exit_code);
}

}  // namespace sugar::dist
