#pragma once
// Reading typed values out of YAML nodes with one-line messages, and writing them back as canonical
// YAML text. yaml-cpp keeps every scalar as text; these functions decide what text is a number, a
// whole number or a boolean, so that the rules are the same in config files, --set and sweeps.
//
// Implementation header of the config module.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/config/config_schema.hpp"

namespace sugar::config {

// How a node is named in "got ..." messages: 'abc', a list, a mapping, nothing.
std::string describe(const YAML::Node& node);

// The key path a message names: the source's label when it has one (a sweep item: "sweep.seed[1]"),
// else `path`.
const std::string& message_path(const ValueSource& source, const std::string& path);

// Decimal numbers as written in YAML ("0.1", "5.0e-4", "-3", "+2"); finite only. `expected` names
// what the key allows in the message for anything else ("a number in (0, 1000]"); a float key reads a
// double, checks its range, then narrows.
double read_number(const ValueSource& source, const std::string& path, const std::string& expected = "a number");
// Whole numbers in base 10 ("128", "-1"); "128.0" and "1e3" are not whole numbers, and neither is
// one beyond the type's range.
int64_t read_integer(const ValueSource& source, const std::string& path, const std::string& expected = "a whole number");
uint64_t read_unsigned(const ValueSource& source, const std::string& path,
                       const std::string& expected = "a whole number >= 0");
// true/false, also yes/no and on/off, in any case.
bool read_bool(const ValueSource& source, const std::string& path);
// read_bool's spellings, or "auto": returns "true", "false" or "auto".
std::string read_bool_or_auto(const ValueSource& source, const std::string& path);
// Any scalar as its text; an empty value is "".
std::string read_text(const ValueSource& source, const std::string& path);
// The items of a sequence (an empty value is an empty list), each with its own place and the label
// "<path>[i]". `expected` names the items for the message: "a list of numbers".
std::vector<ValueSource> read_list(const ValueSource& source, const std::string& path, const std::string& expected);

// Canonical text: the shortest decimal that reads back to the same value ("0.1", "200"), with ".0"
// added to a bare exponent form ("1.0e-08") so that YAML 1.1 readers see a number too.
std::string write_number(double value);
std::string write_float(float value);
// Plain when it reads back as the same text in any YAML reader, double-quoted (with escapes) otherwise.
std::string write_text(const std::string& text);
// "[a, b, c]" from already written items.
std::string write_list(const std::vector<std::string>& items);

}  // namespace sugar::config
