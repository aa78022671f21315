// Hostile values for every config key, generated from the key table itself (config_fields()), so a
// key added later is covered without anyone remembering to: NaN, infinities, numbers far beyond any
// bound, integers just past 64 bits, tiny numbers, control bytes, broken UTF-8 and absurd lengths.
// Each is either rejected as a one-line usage error naming the key (and, for numbers, the allowed
// range), or accepted exactly when it lies inside the range the table documents. Whether a value is
// in range is decided here with strtod / from_chars, independently of the config reader.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "sugar/config/config_schema.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::config;

namespace {

// The defaults, with one mean and one std (data.mean and data.std are set one value at a time below,
// and must have as many values as each other).
const char* const kBase = "data: {mean: [0.5], std: [0.25]}\n";
// A config that reaches every bound without breaking a rule that involves two keys: the longest run
// (so warm-up and milestones may go up to the last epoch) on the largest images (so crop padding
// and cutout may too).
const char* const kRoomy =
    "data: {name: image_folder, image_size: 1024, mean: [0.5], std: [0.25]}\ntrain: {epochs: 1000000}\n";

struct Outcome {
  bool accepted = false;
  std::string message;
};

// Loads `base` with one --set override; a rejection must be a one-line usage error.
Outcome load_with(const std::string& override_text, const std::string& base = "") {
  try {
    load_config_text(base, "h.yaml", {override_text});
    return {true, ""};
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << override_text << ": " << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return {false, e.what()};
  } catch (const std::exception& e) {
    ADD_FAILURE() << override_text << ": not a sugar::Error: " << e.what();
    return {false, e.what()};
  }
}

bool is_numeric(FieldKind kind) {
  return kind == FieldKind::integer || kind == FieldKind::number || kind == FieldKind::integer_list ||
         kind == FieldKind::number_list;
}
bool is_list(FieldKind kind) { return kind == FieldKind::integer_list || kind == FieldKind::number_list; }
bool is_whole(FieldKind kind) { return kind == FieldKind::integer || kind == FieldKind::integer_list; }

// `value` as the override of `field`: itself, or in place of the first item of the default list
// (so that a list with an exact count, optim.betas, keeps its count).
std::string override_for(const ConfigField& field, const std::string& value) {
  if (!is_list(field.kind)) return field.path + "=" + value;
  const std::string defaults = field.write(ExperimentConfig{});
  const size_t comma = defaults.find(',');
  const std::string rest = comma == std::string::npos ? "]" : defaults.substr(comma);
  return field.path + "=[" + value + rest;
}

// Whether the text is a value of the field's type inside its documented range, decided without the
// config reader: whole-number syntax (int64, or uint64 for the seed) for integer kinds, strtod for
// numbers.
bool in_documented_range(const ConfigField& field, const std::string& text) {
  double value = 0;
  if (is_whole(field.kind)) {
    int64_t whole = 0;
    uint64_t unsigned_whole = 0;
    const char* end = text.data() + text.size();
    const auto parsed = [&](auto& number) {
      const auto [stop, error] = std::from_chars(text.data(), end, number);
      return error == std::errc() && stop == end;
    };
    if (parsed(whole)) value = static_cast<double>(whole);
    else if (parsed(unsigned_whole)) value = static_cast<double>(unsigned_whole);
    else return false;
  } else {
    // Config numbers are decimal: strtod's hexadecimal form is not one.
    if (text.find_first_of("xX") != std::string::npos) return false;
    char* end = nullptr;
    value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(value)) return false;
  }
  return field.range.contains(value);
}

const std::vector<std::string> kHostileNumbers{
    "nan", "-nan", ".nan", "inf", "-inf", ".inf", "infinity", "1e300", "-1e300", "1e400",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "99999999999999999999999", "1e-300", "-1e-300", "0x10", "1_000"};

std::string bound_text(double bound, FieldKind kind) {
  if (is_whole(kind)) {
    if (bound >= 9.2e18) return std::to_string(std::numeric_limits<uint64_t>::max());
    return std::to_string(static_cast<int64_t>(bound));
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", bound);
  return buffer;
}

}  // namespace

// The table says what each key takes; every numeric key is bounded above, and the size-like keys
// have the bounds the issue asked for (large enough for any real run, small enough to be safe).
TEST(ConfigHostile, EveryNumericKeyHasAFiniteRange) {
  int numeric = 0;
  for (const ConfigField& field : config_fields()) {
    if (!is_numeric(field.kind)) continue;
    ++numeric;
    ASSERT_TRUE(field.range.low.has_value()) << field.path;
    ASSERT_TRUE(field.range.high.has_value()) << field.path;
    EXPECT_TRUE(std::isfinite(*field.range.low) && std::isfinite(*field.range.high)) << field.path;
    EXPECT_LT(*field.range.low, *field.range.high) << field.path;
    EXPECT_NE(field.range.text.find(bound_text(*field.range.high, field.kind).substr(0, 4)), std::string::npos)
        << field.path << ": " << field.range.text;
    if (is_list(field.kind)) EXPECT_GT(field.max_length, 0u) << field.path << ": a list needs a most-items bound";
  }
  EXPECT_EQ(numeric, 38);  // seed; 15 data, 7 optim, 8 schedule and 7 train keys when this was written
  const auto high = [](const char* path) { return *find_field(path)->range.high; };
  EXPECT_EQ(high("data.image_size"), 1024);
  EXPECT_EQ(high("data.pad_to"), 256);
  EXPECT_EQ(high("train.threads"), 4096);
  EXPECT_EQ(high("train.epochs"), 1e6);
  EXPECT_EQ(high("train.batch_size"), 65536);
  EXPECT_EQ(high("train.eval_batch_size"), 65536);
  EXPECT_EQ(high("data.augment.cutout"), 1024);
  EXPECT_EQ(high("data.augment.crop_padding"), 1023);
  EXPECT_EQ(high("schedule.milestones"), 1e6);
  EXPECT_EQ(find_field("seed")->range.text, "in [0, 18446744073709551615]");
  EXPECT_EQ(find_field("optim.lr")->range.text, "in (0, 1000]");
  EXPECT_EQ(find_field("name")->max_length, 128u);
}

// The generated cases: every numeric key x every hostile number.
TEST(ConfigHostile, HostileNumbersAreRejectedOrInRange) {
  int rejected = 0, accepted = 0;
  for (const ConfigField& field : config_fields()) {
    if (!is_numeric(field.kind)) continue;
    for (const std::string& value : kHostileNumbers) {
      const std::string text = override_for(field, value);
      const Outcome outcome = load_with(text, kBase);
      const bool expected = in_documented_range(field, value);
      EXPECT_EQ(outcome.accepted, expected) << text << ": " << outcome.message;
      if (outcome.accepted) {
        ++accepted;
        continue;
      }
      ++rejected;
      EXPECT_EQ(outcome.message.rfind("--set " + text + ": " + field.path, 0), 0u) << outcome.message;
      EXPECT_NE(outcome.message.find(field.range.text), std::string::npos)
          << text << ": the message does not give the range " << field.range.text << ": " << outcome.message;
    }
  }
  // Tiny positive numbers are fine for rates; nothing else in the list is in any range.
  EXPECT_GT(accepted, 5);
  EXPECT_GT(rejected, 500);
}

// The bounds are exact: each closed bound is accepted and the next value out is rejected (for the
// seed: 2^64 - 1 and 2^64).
TEST(ConfigHostile, BoundsAreExact) {
  for (const ConfigField& field : config_fields()) {
    if (!is_numeric(field.kind)) continue;
    for (const bool upper : {false, true}) {
      const double bound = upper ? *field.range.high : *field.range.low;
      const bool open = upper ? field.range.high_open : field.range.low_open;
      const std::string at = bound_text(bound, field.kind);
      std::string beyond;
      if (is_whole(field.kind)) {
        beyond = field.path == "seed" && upper ? "18446744073709551616" : std::to_string(static_cast<int64_t>(bound) + (upper ? 1 : -1));
      } else {
        beyond = bound_text(upper ? std::nextafter(bound, 1e308) : std::nextafter(bound, -1e308), field.kind);
      }
      const Outcome at_bound = load_with(override_for(field, at), kRoomy);
      EXPECT_EQ(at_bound.accepted, !open) << field.path << "=" << at << ": " << at_bound.message;
      const Outcome past = load_with(override_for(field, beyond), kRoomy);
      EXPECT_FALSE(past.accepted) << field.path << "=" << beyond;
      EXPECT_NE(past.message.find(field.range.text), std::string::npos) << past.message;
    }
  }
}

// Text keys: control bytes, broken UTF-8 and absurd lengths. Over-long text is rejected for every
// text key (naming the key and the bound); a run name takes none of them, since it names a directory.
TEST(ConfigHostile, HostileTextIsRejectedOrKept) {
  const std::vector<std::string> hostile{"\x1b[31mred", "a\x7f", "\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "x\xe2\x82",
                                         "\xc2\x9b" "31m", std::string(5000, 'a'), std::string(129, 'n')};
  for (const ConfigField& field : config_fields()) {
    if (field.kind != FieldKind::text && field.kind != FieldKind::choice && field.kind != FieldKind::flag) continue;
    for (const std::string& value : hostile) {
      // Quoted, so that YAML keeps the bytes (and reads \x1b as ESC itself).
      std::string quoted = "\"";
      for (const char c : value) {
        char escape[8];
        std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned char>(c));
        quoted += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? std::string(escape) : std::string(1, c);
      }
      quoted += "\"";
      const std::string text = field.path + "=" + quoted;
      const Outcome outcome = load_with(text);
      if (!outcome.accepted) {
        EXPECT_EQ(outcome.message.rfind("--set " + text + ": " + field.path + ": ", 0), 0u) << outcome.message;
        continue;
      }
      // What is kept is only what the key allows: no choice or flag takes these, and nothing too long.
      EXPECT_EQ(field.kind, FieldKind::text) << text;
      EXPECT_LE(value.size(), field.max_length) << text;
      EXPECT_NE(field.path, "name") << text;
    }
  }
  const Outcome long_name = load_with("name=" + std::string(300, 'r'));
  EXPECT_EQ(long_name.message, "--set name=" + std::string(300, 'r') + ": name: expected at most 128 bytes, got 300");
  EXPECT_TRUE(load_with("name=" + std::string(128, 'r')).accepted);
  EXPECT_TRUE(load_with("name=\"résumé-→\"").accepted);  // valid UTF-8 is a fine name
  const Outcome utf8 = load_with("name=\"bad\xff\"");
  EXPECT_EQ(utf8.message, "--set name=\"bad\xff\": name: 'bad\xff' is not printable UTF-8 (it names the run directory)");
  // A path may hold any byte Linux allows, but not more than PATH_MAX of them.
  EXPECT_TRUE(load_with("data.root=\"/data/\\x1b\"").accepted);
  EXPECT_EQ(load_with("data.root=" + std::string(4097, 'p')).message,
            "--set data.root=" + std::string(4097, 'p') + ": data.root: expected at most 4096 bytes, got 4097");
}

// The examples of issue 16, class 6 and the config half of class 1, message by message.
TEST(ConfigHostile, IssueExamplesAreUsageErrorsWithTheRange) {
  EXPECT_EQ(load_with("train.threads=100000").message,
            "--set train.threads=100000: train.threads: must be in [0, 4096], got 100000");
  EXPECT_EQ(load_with("train.epochs=9223372036854775807").message,
            "--set train.epochs=9223372036854775807: train.epochs: must be in [1, 1000000], got 9223372036854775807");
  EXPECT_EQ(load_with("data.image_size=100000").message,
            "--set data.image_size=100000: data.image_size: must be in [1, 1024], got 100000");
  EXPECT_EQ(load_with("data.pad_to=20000").message, "--set data.pad_to=20000: data.pad_to: must be in [0, 256], got 20000");
  EXPECT_EQ(load_with("optim.lr=nan").message, "--set optim.lr=nan: optim.lr: expected a number in (0, 1000], got 'nan'");
  EXPECT_EQ(load_with("data.val_split=1e300").message,
            "--set data.val_split=1e300: data.val_split: must be in [0, 1000000000], got 1e300");
  EXPECT_EQ(load_with("data.std=[1e-300]").message, "--set data.std=[1e-300]: data.std[0]: must be in [1e-06, 1000], got 1e-300");
}

// The table is what --list-keys prints: one description per kind.
TEST(ConfigHostile, AllowedValuesComeFromTheTable) {
  EXPECT_EQ(allowed_values(*find_field("train.batch_size")), "a whole number in [1, 65536]");
  EXPECT_EQ(allowed_values(*find_field("optim.momentum")), "a number in [0, 1)");
  EXPECT_EQ(allowed_values(*find_field("optim.betas")), "a list of at most 2 numbers in [0, 1)");
  EXPECT_EQ(allowed_values(*find_field("schedule.milestones")), "a list of at most 1000 whole numbers in [1, 1000000]");
  EXPECT_EQ(allowed_values(*find_field("optim.name")), "one of sgd, adam, adamw");
  EXPECT_EQ(allowed_values(*find_field("train.sync_bn")), "true or false");
  EXPECT_EQ(allowed_values(*find_field("name")), "text of at most 128 bytes");
}
