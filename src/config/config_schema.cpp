// The config key table: one row per leaf key with its type, its allowed values and its writer.
#include "sugar/config/config_schema.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "sugar/activations/registry.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/config/yaml_values.hpp"
#include "sugar/error.hpp"
#include "sugar/io/sha256.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/printable.hpp"
#include "sugar/text.hpp"

namespace sugar::config {
namespace {

// A bound as messages print it: whole numbers in full ("1000000000", not "1e+09"), others shortest.
template <class T>
std::string bound_text(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<double>(v));
    return std::string(buffer, result.ptr);
  } else {
    return std::to_string(v);
  }
}

// An interval of allowed values, printed as it is checked: "in [0, 1)", "in (0, 1000]".
template <class T>
struct Range {
  std::optional<T> low, high;
  bool low_open = false, high_open = false;

  static Range any() { return {}; }
  static Range closed(T lo, T hi) { return {lo, hi, false, false}; }
  static Range half_open(T lo, T hi) { return {lo, hi, false, true}; }     // [lo, hi)
  static Range open_closed(T lo, T hi) { return {lo, hi, true, false}; }   // (lo, hi]
  static Range open(T lo, T hi) { return {lo, hi, true, true}; }

  bool contains(T v) const {
    if (low && (low_open ? !(v > *low) : !(v >= *low))) return false;
    if (high && (high_open ? !(v < *high) : !(v <= *high))) return false;
    return true;
  }
  std::string describe() const {
    if (low && high)
      return "in " + std::string(low_open ? "(" : "[") + bound_text(*low) + ", " + bound_text(*high) + (high_open ? ")" : "]");
    if (low) return (low_open ? "> " : ">= ") + bound_text(*low);
    if (high) return (high_open ? "< " : "<= ") + bound_text(*high);
    return "any value";
  }
  FieldRange metadata() const {
    FieldRange r;
    if (low) r.low = static_cast<double>(*low);
    if (high) r.high = static_cast<double>(*high);
    r.low_open = low_open;
    r.high_open = high_open;
    r.text = describe();
    return r;
  }
};

// "a whole number in [1, 1024]", "a number in (0, 1000]": what a message says was expected.
std::string whole_expected(const Range<int64_t>& range) { return "a whole number " + range.describe(); }
std::string number_expected(const Range<double>& range) { return "a number " + range.describe(); }

template <class T>
void check_range(T value, const Range<T>& range, const ValueSource& source, const std::string& path) {
  if (!range.contains(value))
    config_error(source.where, message_path(source, path),
                 "must be " + range.describe() + ", got " + (source.node.IsScalar() ? source.node.Scalar() : bound_text(value)));
}

// A row with its path, kind and range; the builders below then give it a reader and a writer.
ConfigField make_field(std::string path, FieldKind kind, FieldRange range = {}) {
  ConfigField field;
  field.path = std::move(path);
  field.kind = kind;
  field.range = std::move(range);
  return field;
}

template <class Access>
using FieldType = std::remove_cvref_t<decltype(std::declval<Access>()(std::declval<ExperimentConfig&>()))>;

// ---- field builders: `access` is a generic lambda returning a reference to the member ------------

// double and float fields: read as a double, checked, then narrowed (every bound is far inside float).
template <class Access>
ConfigField number(std::string path, Access access, Range<double> range) {
  using T = FieldType<Access>;
  ConfigField field = make_field(path, FieldKind::number, range.metadata());
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const double value = read_number(s, path, number_expected(range));
    check_range(value, range, s, path);
    access(c) = static_cast<T>(value);
  };
  field.write = [=](const ExperimentConfig& c) {
    if constexpr (std::is_same_v<T, float>) return write_float(access(c));
    else return write_number(access(c));
  };
  return field;
}

// int and int64_t fields, always within [low, high] (checked to fit the member's type).
template <class Access>
ConfigField integer(std::string path, Access access, int64_t low, int64_t high) {
  using T = FieldType<Access>;
  if (high > static_cast<int64_t>(std::numeric_limits<T>::max()))
    throw std::logic_error("config key " + path + ": bound beyond its type");
  const Range<int64_t> range = Range<int64_t>::closed(low, high);
  ConfigField field = make_field(path, FieldKind::integer, range.metadata());
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const int64_t value = read_integer(s, path, whole_expected(range));
    check_range(value, range, s, path);
    access(c) = static_cast<T>(value);
  };
  field.write = [=](const ExperimentConfig& c) { return std::to_string(access(c)); };
  return field;
}

template <class Access>
ConfigField flag(std::string path, Access access) {
  ConfigField field = make_field(path, FieldKind::flag);
  field.read = [=](ExperimentConfig& c, const ValueSource& s) { access(c) = read_bool(s, path); };
  field.write = [=](const ExperimentConfig& c) { return std::string(access(c) ? "true" : "false"); };
  return field;
}

// A flag that may also be left to Sugar (Recompute): read_bool's spellings or auto.
template <class Access>
ConfigField flag_or_auto(std::string path, Access access) {
  ConfigField field = make_field(path, FieldKind::choice);
  field.choices = []() { return names_of(Recompute{}).names(); };
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    access(c) = *find_named<Recompute>(read_bool_or_auto(s, path));
  };
  field.write = [=](const ExperimentConfig& c) { return name_of(access(c)); };
  return field;
}

[[noreturn]] void unknown_name(const ValueSource& s, const std::string& path, const std::string& noun,
                               const std::string& name, const std::vector<std::string>& known) {
  // A name longer than every known one by far is no misspelling (and edit distance is quadratic).
  const std::string suggestion = name.size() > 64 ? "" : text::did_you_mean(name, known);
  const std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
  config_error(s.where, message_path(s, path),
               "unknown " + noun + " '" + shown + "'" + suggestion + " (known: " + text::join(known) + ")");
}

// A name from an open vocabulary (models, datasets: programs can register more), kept as text;
// `noun` says what kind of name it is in "unknown model 'x'".
template <class Access>
ConfigField choice(std::string path, std::string noun, Access access,
                   std::function<std::vector<std::string>()> names) {
  ConfigField field = make_field(path, FieldKind::choice);
  field.choices = names;
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const std::vector<std::string> known = names();
    const std::string name = read_text(s, path);
    if (std::find(known.begin(), known.end(), name) == known.end()) unknown_name(s, path, noun, name, known);
    access(c) = name;
  };
  field.write = [=](const ExperimentConfig& c) { return write_text(access(c)); };
  return field;
}

// A value of a closed vocabulary, an enum whose words its owner's NameTable gives
// (sugar/name_table.hpp); `noun` as for choice.
template <class Access>
ConfigField named(std::string path, std::string noun, Access access) {
  using E = FieldType<Access>;
  ConfigField field = make_field(path, FieldKind::choice);
  field.choices = []() { return names_of(E{}).names(); };
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const std::string name = read_text(s, path);
    const std::optional<E> value = find_named<E>(name);
    if (!value) unknown_name(s, path, noun, name, names_of(E{}).names());
    access(c) = *value;
  };
  field.write = [=](const ExperimentConfig& c) { return write_text(name_of(access(c))); };
  return field;
}

bool has_control_byte(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}

// Free text of at most `max_length` bytes; `problem` adds the key's own rules. (Control bytes quoted
// in a message are escaped where the message is printed: cli.cpp.)
template <class Access>
ConfigField text(std::string path, Access access, size_t max_length,
                 std::function<std::string(const std::string&)> problem = {}) {
  ConfigField field = make_field(path, FieldKind::text);
  field.max_length = max_length;
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    std::string value = read_text(s, path);
    if (value.size() > max_length)
      config_error(s.where, message_path(s, path),
                   "expected at most " + std::to_string(max_length) + " bytes, got " + std::to_string(value.size()));
    if (problem) {
      const std::string what = problem(value);
      if (!what.empty()) config_error(s.where, message_path(s, path), what);
    }
    access(c) = std::move(value);
  };
  field.write = [=](const ExperimentConfig& c) { return write_text(access(c)); };
  return field;
}

// A list value may hold at most `max_items` items (a list as long as the file would be read whole).
void check_item_count(const ValueSource& s, const std::string& path, size_t items, size_t max_items, const char* noun) {
  if (items > max_items)
    config_error(s.where, message_path(s, path),
                 "expected at most " + std::to_string(max_items) + " " + noun + ", got " + std::to_string(items));
}

// vector<double> or vector<float> with a range per item, at most `max_items` of them, and optionally
// an exact count.
template <class Access>
ConfigField number_list(std::string path, Access access, Range<double> item_range, size_t max_items,
                        size_t exact_count = 0, std::string count_meaning = "") {
  using T = typename FieldType<Access>::value_type;
  ConfigField field = make_field(path, FieldKind::number_list, item_range.metadata());
  field.max_length = exact_count ? exact_count : max_items;
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const std::vector<ValueSource> items = read_list(s, path, "a list of numbers");
    if (exact_count && items.size() != exact_count)
      config_error(s.where, message_path(s, path),
                   "expected " + std::to_string(exact_count) + " numbers " + count_meaning + ", got " +
                       (s.node.IsSequence() ? std::to_string(items.size()) : describe(s.node)));
    check_item_count(s, path, items.size(), max_items, "numbers");
    std::vector<T> values;
    for (const ValueSource& item : items) {
      const double value = read_number(item, path, number_expected(item_range));
      check_range(value, item_range, item, path);
      values.push_back(static_cast<T>(value));
    }
    access(c) = std::move(values);
  };
  field.write = [=](const ExperimentConfig& c) {
    std::vector<std::string> items;
    for (const T value : access(c)) {
      if constexpr (std::is_same_v<T, float>) items.push_back(write_float(value));
      else items.push_back(write_number(value));
    }
    return write_list(items);
  };
  return field;
}

ConfigField milestones_field(int64_t max_epoch, size_t max_items) {
  const std::string path = "schedule.milestones";
  const Range<int64_t> range = Range<int64_t>::closed(1, max_epoch);
  ConfigField field = make_field(path, FieldKind::integer_list, range.metadata());
  field.max_length = max_items;
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const std::vector<ValueSource> items = read_list(s, path, "a list of epochs");
    check_item_count(s, path, items.size(), max_items, "epochs");
    std::vector<int64_t> values;
    for (const ValueSource& item : items) {
      const int64_t value = read_integer(item, path, whole_expected(range));
      check_range(value, range, item, path);
      if (!values.empty() && value <= values.back())
        config_error(item.where, item.label,
                     "milestones must increase, got " + std::to_string(value) + " after " + std::to_string(values.back()));
      values.push_back(value);
    }
    c.schedule.milestones = std::move(values);
  };
  field.write = [](const ExperimentConfig& c) {
    std::vector<std::string> items;
    for (const int64_t m : c.schedule.milestones) items.push_back(std::to_string(m));
    return write_list(items);
  };
  return field;
}

// The activation spec is parsed against the activation table and kept in canonical form, so that a
// resolved config names every parameter value that ran.
ConfigField activation_field(size_t max_length) {
  const std::string path = "model.activation";
  ConfigField field = make_field(path, FieldKind::text);
  field.max_length = max_length;
  field.read = [=](ExperimentConfig& c, const ValueSource& s) {
    const std::string spec = read_text(s, path);
    if (spec.empty()) config_error(s.where, message_path(s, path), "expected an activation spec such as relu or \"sugar(surrogate=bsilu)\", got nothing");
    if (spec.size() > max_length)
      config_error(s.where, message_path(s, path),
                   "expected at most " + std::to_string(max_length) + " bytes, got " + std::to_string(spec.size()));
    if (spec == models::kDesignActivation) {  // resolved per model when the config is complete
      c.model.activation = spec;
      return;
    }
    try {
      c.model.activation = activations::ActivationSpec::parse(spec).to_string();
    } catch (const Error& e) {
      config_error(s.where, message_path(s, path), e.what());
    }
  };
  field.write = [](const ExperimentConfig& c) { return write_text(c.model.activation); };
  return field;
}

// A run name becomes a directory name under runs/ (and, in a sweep, the parent of the cells).
// NAME_MAX is 255 bytes; 128 leaves room for the suffixes added to it ("-2", ".tmp-<pid>").
constexpr size_t kMaxNameBytes = 128;

std::string run_name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty (it names the run directory)";
  const bool bad_char =
      has_control_byte(name) || std::any_of(name.begin(), name.end(), [](char ch) { return ch == '/' || ch == '\\'; });
  if (bad_char || name == "." || name == "..")
    return "'" + name + "' cannot name a run directory (expected no '/', '\\' or control characters, and not '.' or '..')";
  // Well-formed UTF-8 without C1 controls: what printable() leaves as it is.
  if (printable(name) != name) return "'" + name + "' is not printable UTF-8 (it names the run directory)";
  return "";
}

// Any byte but NUL may be in a Linux path; a NUL would cut it short.
std::string path_problem(const std::string& path) {
  return path.find('\0') == std::string::npos ? "" : "holds a NUL byte, which no path can";
}

// ---- the bounds. Each is far above any real use and low enough that nothing computed from it
// overflows or asks for unbounded memory. --------------------------------------------------------

// Epoch counts (train.epochs, eval_every, step_size, milestones, warm-up): a million epochs is
// beyond any training, and a million times the batches of an epoch (at most kMaxSamples) stays far
// below 2^63 in the schedule's step arithmetic (train/builders.cpp checks the product anyway).
constexpr int64_t kMaxEpochs = 1'000'000;
// Sample counts (train_limit, test_limit, val_split): more 32x32 images than memory holds.
constexpr int64_t kMaxSamples = 1'000'000'000;
// Images per step: 65,536 is the largest global batch in the large-batch literature; a batch of that
// many 32x32 RGB images is 800 MB of floats.
constexpr int64_t kMaxBatch = 65'536;
// Image sides: an image folder resized to 1024x1024 is 12 MB per image in floats; beyond that one
// resize took minutes and GBs. MNIST padded to 256x256 is 3.9 GB for its 60,000 images already.
constexpr int64_t kMaxImageSize = 1024;
constexpr int64_t kMaxPadTo = 256;
// OpenMP threads: what runtime.cpp's set_num_threads accepts (and the global --threads).
constexpr int64_t kMaxThreads = 4096;
// Rates and factors: far above any sensible learning rate or decay, far below float's overflow.
constexpr double kMaxRate = 1000;
// Mean/std are in units of pixel/255 (about [0, 1]); a std below 1e-6 scales pixels by a million.
constexpr double kMaxNormalisation = 1000;
constexpr double kMinStd = 1e-6;
// One value per channel; no image has more than 64 channels.
constexpr size_t kMaxChannels = 64;
// A path: PATH_MAX on Linux. An activation spec: the longest real one is under 100 bytes.
constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxSpecBytes = 1024;
// Multistep milestones: one per epoch at most would be absurd already.
constexpr size_t kMaxMilestones = 1000;

// A key that does not change what a run computes (ConfigField::changes_math).
ConfigField not_math(ConfigField field) {
  field.changes_math = false;
  return field;
}

std::vector<ConfigField> build_fields() {
  using R = Range<double>;
  std::vector<ConfigField> f;
  f.push_back(not_math(text("name", [](auto& c) -> auto& { return c.name; }, kMaxNameBytes, run_name_problem)));
  {
    // Any 64-bit seed: seeds only feed the counter-based random streams (unsigned, no overflow).
    const Range<uint64_t> range = Range<uint64_t>::closed(0, std::numeric_limits<uint64_t>::max());
    ConfigField seed = make_field("seed", FieldKind::integer, range.metadata());
    seed.read = [range](ExperimentConfig& c, const ValueSource& s) {
      c.seed = read_unsigned(s, "seed", "a whole number " + range.describe());
    };
    seed.write = [](const ExperimentConfig& c) { return std::to_string(c.seed); };
    f.push_back(seed);
  }

  f.push_back(choice("model.name", "model", [](auto& c) -> auto& { return c.model.name; },
                     [] { return models::model_names(); }));
  f.push_back(activation_field(kMaxSpecBytes));
  f.push_back(flag("model.batch_norm", [](auto& c) -> auto& { return c.model.batch_norm; }));
  f.push_back(named("model.init", "initialisation", [](auto& c) -> auto& { return c.model.init; }));
  // Where the initial weights were; what they were is model.init_from_sha256, a math key.
  f.push_back(
      not_math(text("model.init_from", [](auto& c) -> auto& { return c.model.init_from; }, kMaxPathBytes, path_problem)));
  f.push_back(text("model.init_from_sha256", [](auto& c) -> auto& { return c.model.init_from_sha256; }, 64,
                   [](const std::string& digest) -> std::string {
                     if (digest.empty() || io::is_sha256_hex(digest)) return "";
                     return "expected 64 lowercase hexadecimal digits (what sha256sum prints), or nothing for the "
                            "trainer to fill in";
                   }));

  f.push_back(choice("data.name", "dataset", [](auto& c) -> auto& { return c.data.name; },
                     []() { return data::dataset_names(); }));
  f.push_back(not_math(text("data.root", [](auto& c) -> auto& { return c.data.root; }, kMaxPathBytes, path_problem)));
  f.push_back(integer("data.pad_to", [](auto& c) -> auto& { return c.data.pad_to; }, 0, kMaxPadTo));
  f.push_back(flag("data.coarse_labels", [](auto& c) -> auto& { return c.data.coarse_labels; }));
  f.push_back(integer("data.image_size", [](auto& c) -> auto& { return c.data.image_size; }, 1, kMaxImageSize));
  f.push_back(integer("data.train_limit", [](auto& c) -> auto& { return c.data.train_limit; }, 0, kMaxSamples));
  f.push_back(integer("data.test_limit", [](auto& c) -> auto& { return c.data.test_limit; }, 0, kMaxSamples));
  {
    const std::string path = "data.val_split";
    const R range = R::closed(0, static_cast<double>(kMaxSamples));
    ConfigField val_split = make_field(path, FieldKind::number, range.metadata());
    val_split.read = [=](ExperimentConfig& c, const ValueSource& s) {
      const double value = read_number(s, path, number_expected(range));
      check_range(value, range, s, path);
      if (value >= 1 && value != std::floor(value))
        config_error(s.where, message_path(s, path),
                     "expected 0, a fraction in (0, 1) or a whole number of samples, got " + s.node.Scalar());
      c.data.val_split = value;
    };
    val_split.write = [](const ExperimentConfig& c) { return write_number(c.data.val_split); };
    f.push_back(val_split);
  }
  f.push_back(number_list("data.mean", [](auto& c) -> auto& { return c.data.mean; },
                          R::closed(-kMaxNormalisation, kMaxNormalisation), kMaxChannels));
  f.push_back(number_list("data.std", [](auto& c) -> auto& { return c.data.std; }, R::closed(kMinStd, kMaxNormalisation),
                          kMaxChannels));
  // Both must fit the image (a padding smaller than its side, a cutout at most its side).
  f.push_back(integer("data.augment.crop_padding", [](auto& c) -> auto& { return c.data.augment.crop_padding; }, 0,
                      kMaxImageSize - 1));
  f.push_back(flag("data.augment.hflip", [](auto& c) -> auto& { return c.data.augment.hflip; }));
  f.push_back(number("data.augment.hflip_probability", [](auto& c) -> auto& { return c.data.augment.hflip_probability; },
                     R::closed(0, 1)));
  f.push_back(integer("data.augment.cutout", [](auto& c) -> auto& { return c.data.augment.cutout; }, 0, kMaxImageSize));
  f.push_back(number("data.augment.random_erasing", [](auto& c) -> auto& { return c.data.augment.random_erasing; },
                     R::closed(0, 1)));
  // timm's Mixup(mixup_alpha, cutmix_alpha, prob, switch_prob); a Beta parameter above 100 is a
  // lam of 0.5 within 5%, nothing a recipe asks for.
  f.push_back(number("data.mix.mixup_alpha", [](auto& c) -> auto& { return c.data.mix.mixup_alpha; }, R::closed(0, 100)));
  f.push_back(number("data.mix.cutmix_alpha", [](auto& c) -> auto& { return c.data.mix.cutmix_alpha; }, R::closed(0, 100)));
  f.push_back(number("data.mix.probability", [](auto& c) -> auto& { return c.data.mix.probability; }, R::closed(0, 1)));
  f.push_back(number("data.mix.switch_probability", [](auto& c) -> auto& { return c.data.mix.switch_probability; },
                     R::closed(0, 1)));

  f.push_back(named("optim.name", "optimizer", [](auto& c) -> auto& { return c.optim.name; }));
  f.push_back(number("optim.lr", [](auto& c) -> auto& { return c.optim.lr; }, R::open_closed(0, kMaxRate)));
  f.push_back(number("optim.momentum", [](auto& c) -> auto& { return c.optim.momentum; }, R::half_open(0, 1)));
  f.push_back(number("optim.dampening", [](auto& c) -> auto& { return c.optim.dampening; }, R::closed(0, 1)));
  f.push_back(flag("optim.nesterov", [](auto& c) -> auto& { return c.optim.nesterov; }));
  f.push_back(number("optim.weight_decay", [](auto& c) -> auto& { return c.optim.weight_decay; }, R::closed(0, kMaxRate)));
  f.push_back(number_list("optim.betas", [](auto& c) -> auto& { return c.optim.betas; }, R::half_open(0, 1), 2, 2,
                          "[beta1, beta2]"));
  f.push_back(number("optim.eps", [](auto& c) -> auto& { return c.optim.eps; }, R::closed(0, 1)));
  f.push_back(named("optim.weight_decay_on", "parameter scope", [](auto& c) -> auto& { return c.optim.weight_decay_on; }));
  // A gradient norm; 1e6 is far above any clipping threshold in use (timm's recipes: 0.5 to 5).
  f.push_back(number("optim.clip_grad_norm", [](auto& c) -> auto& { return c.optim.clip_grad_norm; }, R::closed(0, 1e6)));

  f.push_back(named("schedule.name", "schedule", [](auto& c) -> auto& { return c.schedule.name; }));
  // Fewer than train.epochs (checked with it).
  f.push_back(integer("schedule.warmup_epochs", [](auto& c) -> auto& { return c.schedule.warmup_epochs; }, 0, kMaxEpochs - 1));
  f.push_back(integer("schedule.step_size", [](auto& c) -> auto& { return c.schedule.step_size; }, 1, kMaxEpochs));
  // gamma > 1 grows the LR at each step; 10 is generous, and gamma^k then overflows only into a
  // non-finite LR that train.on_nonfinite reports.
  f.push_back(number("schedule.gamma", [](auto& c) -> auto& { return c.schedule.gamma; }, R::open_closed(0, 10)));
  f.push_back(milestones_field(kMaxEpochs, kMaxMilestones));
  f.push_back(number("schedule.eta_min", [](auto& c) -> auto& { return c.schedule.eta_min; }, R::closed(0, kMaxRate)));
  f.push_back(number("schedule.pct_start", [](auto& c) -> auto& { return c.schedule.pct_start; }, R::open(0, 1)));
  // The one-cycle LR starts at lr / div_factor and ends at that / final_div_factor: factors below 1
  // would turn the cycle upside down, and 1e12 already ends at LR 0 in every float.
  f.push_back(number("schedule.div_factor", [](auto& c) -> auto& { return c.schedule.div_factor; }, R::closed(1, 1e12)));
  f.push_back(number("schedule.final_div_factor", [](auto& c) -> auto& { return c.schedule.final_div_factor; },
                     R::closed(1, 1e12)));

  f.push_back(integer("train.epochs", [](auto& c) -> auto& { return c.train.epochs; }, 1, kMaxEpochs));
  f.push_back(integer("train.batch_size", [](auto& c) -> auto& { return c.train.batch_size; }, 1, kMaxBatch));
  f.push_back(
      not_math(integer("train.eval_batch_size", [](auto& c) -> auto& { return c.train.eval_batch_size; }, 1, kMaxBatch)));
  f.push_back(not_math(integer("train.threads", [](auto& c) -> auto& { return c.train.threads; }, 0, kMaxThreads)));
  f.push_back(named("train.dtype", "dtype", [](auto& c) -> auto& { return c.train.dtype; }));
  f.push_back(number("train.label_smoothing", [](auto& c) -> auto& { return c.train.label_smoothing; }, R::half_open(0, 1)));
  f.push_back(
      not_math(named("train.conv_algo", "convolution algorithm", [](auto& c) -> auto& { return c.train.conv_algo; })));
  // Steps between checkpoints: a run has at most kMaxEpochs x (its batches) steps; 10^9 is "never".
  f.push_back(not_math(integer("train.checkpoint_every_steps",
                               [](auto& c) -> auto& { return c.train.checkpoint_every_steps; }, 0, kMaxSamples)));
  f.push_back(named("train.on_nonfinite", "policy", [](auto& c) -> auto& { return c.train.on_nonfinite; }));
  f.push_back(flag("train.sync_bn", [](auto& c) -> auto& { return c.train.sync_bn; }));
  f.push_back(not_math(integer("train.eval_every", [](auto& c) -> auto& { return c.train.eval_every; }, 1, kMaxEpochs)));
  f.push_back(not_math(flag("train.neuron_stats", [](auto& c) -> auto& { return c.train.neuron_stats; })));
  f.push_back(not_math(flag_or_auto("train.recompute", [](auto& c) -> auto& { return c.train.recompute; })));
  return f;
}

}  // namespace

std::string location(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string item_where(const ValueSource& list, const YAML::Node& item) {
  if (list.file.empty()) return list.where;
  return location(list.file, item.Mark());
}

void config_error(const std::string& where, const std::string& path, const std::string& what) {
  std::string message = where;
  if (!path.empty()) message += (message.empty() ? "" : ": ") + path;
  message += (message.empty() ? "" : ": ") + what;
  throw Error(message, ErrorKind::usage);
}

const char* kind_name(FieldKind kind) {
  switch (kind) {
    case FieldKind::integer: return "integer";
    case FieldKind::number: return "number";
    case FieldKind::integer_list: return "integer-list";
    case FieldKind::number_list: return "number-list";
    case FieldKind::text: return "text";
    case FieldKind::choice: return "choice";
    case FieldKind::flag: return "flag";
  }
  return "?";
}

bool FieldRange::contains(double value) const {
  if (low && (low_open ? !(value > *low) : !(value >= *low))) return false;
  if (high && (high_open ? !(value < *high) : !(value <= *high))) return false;
  return true;
}

std::string allowed_values(const ConfigField& field) {
  const std::string items = field.max_length ? "at most " + std::to_string(field.max_length) + " " : "";
  switch (field.kind) {
    case FieldKind::integer: return "a whole number " + field.range.text;
    case FieldKind::number: return "a number " + field.range.text;
    case FieldKind::integer_list: return "a list of " + items + "whole numbers " + field.range.text;
    case FieldKind::number_list: return "a list of " + items + "numbers " + field.range.text;
    case FieldKind::text: return "text of at most " + std::to_string(field.max_length) + " bytes";
    case FieldKind::choice: return "one of " + text::join(field.choices());
    case FieldKind::flag: return "true or false";
  }
  return "";
}

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields = build_fields();
  return fields;
}

const ConfigField* find_field(std::string_view path) {
  for (const ConfigField& field : config_fields())
    if (field.path == path) return &field;
  return nullptr;
}

bool is_section(std::string_view path) {
  if (path.empty()) return true;
  const std::string prefix = std::string(path) + ".";
  for (const ConfigField& field : config_fields())
    if (field.path.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

std::vector<std::string> section_children(std::string_view section) {
  std::vector<std::string> children;
  const std::string prefix = section.empty() ? "" : std::string(section) + ".";
  for (const ConfigField& field : config_fields()) {
    if (field.path.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = field.path.substr(prefix.size());
    const std::string child = rest.substr(0, rest.find('.'));
    if (std::find(children.begin(), children.end(), child) == children.end()) children.push_back(child);
  }
  if (section.empty()) children.push_back("sweep");
  return children;
}

const std::vector<std::string>& config_key_paths() {
  static const std::vector<std::string> paths = [] {
    std::vector<std::string> out;
    for (const ConfigField& field : config_fields()) out.push_back(field.path);
    return out;
  }();
  return paths;
}

}  // namespace sugar::config
