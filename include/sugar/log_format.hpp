#pragma once
// Log lines with user text escaped: the pattern flag %* is the message passed through printable()
// (sugar/printable.hpp; newlines and tabs kept, some messages are tables). The terminal's logger
// (apps/sugar/cli.cpp) and a run's train.log (train/trainer.cpp) both format through here, so an ESC
// sequence in a config value reaches neither the terminal nor a `cat train.log`.
#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace sugar {

// A formatter for `pattern`, which may use %* for the escaped message.
std::unique_ptr<spdlog::formatter> printable_log_formatter(const std::string& pattern);

}  // namespace sugar
