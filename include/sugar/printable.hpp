#pragma once
// Text from the user (a --set value, a YAML scalar, a file name) ends up in error and log lines. A
// raw ESC there drives the terminal, and broken UTF-8 garbles it; printable() is the one place that
// makes such text safe to print.
#include <string>
#include <string_view>

namespace sugar {

// `text` with every byte below 0x20, 0x7f, the C1 controls U+0080..U+009F and every byte that is not
// part of a well-formed UTF-8 sequence (stray continuation bytes, overlong forms, surrogates, code
// points above U+10FFFF, truncated sequences) written as \xNN; a backslash stays as it is. Valid
// UTF-8 ("é", "→") is kept. With keep_newlines, '\n' and '\t' are kept too (a multi-line log message).
std::string printable(std::string_view text, bool keep_newlines = false);

}  // namespace sugar
