// The config key table: one row per leaf key with its type, its allowed values and its writer.
#include "sugar/config/config_schema.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "sugar/activations/registry.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/config/yaml_values.hpp"
#include "sugar/error.hpp"

namespace sugar::config {
namespace {

// An interval of allowed values, printed as it is checked: "> 0", ">= 1", "in [0, 1)".
template <class T>
struct Range {
  std::optional<T> low, high;
  bool low_open = false, high_open = false;

  static Range any() { return {}; }
  static Range above(T v) { return {v, std::nullopt, true, false}; }
  static Range at_least(T v) { return {v, std::nullopt, false, false}; }
  static Range half_open(T lo, T hi) { return {lo, hi, false, true}; }
  static Range closed(T lo, T hi) { return {lo, hi, false, false}; }
  static Range open(T lo, T hi) { return {lo, hi, true, true}; }

  bool contains(T v) const {
    if (low && (low_open ? !(v > *low) : !(v >= *low))) return false;
    if (high && (high_open ? !(v < *high) : !(v <= *high))) return false;
    return true;
  }
  static std::string text(T v) {
    if constexpr (std::is_floating_point_v<T>) return write_number(static_cast<double>(v));
    else return std::to_string(v);
  }
  std::string describe() const {
    if (low && high)
      return "in " + std::string(low_open ? "(" : "[") + text(*low) + ", " + text(*high) + (high_open ? ")" : "]");
    if (low) return (low_open ? "> " : ">= ") + text(*low);
    if (high) return (high_open ? "< " : "<= ") + text(*high);
    return "any value";
  }
};

template <class T>
void check_range(T value, const Range<T>& range, const ValueSource& source, const std::string& path) {
  if (!range.contains(value))
    config_error(source.where, message_path(source, path),
                 "must be " + range.describe() + ", got " + (source.node.IsScalar() ? source.node.Scalar() : Range<T>::text(value)));
}

template <class Access>
using FieldType = std::remove_cvref_t<decltype(std::declval<Access>()(std::declval<ExperimentConfig&>()))>;

// ---- field builders: `access` is a generic lambda returning a reference to the member ------------

template <class Access>
ConfigField number(std::string path, Access access, Range<double> range) {
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            const double value = read_number(s, path);
            check_range(value, range, s, path);
            access(c) = value;
          },
          [=](const ExperimentConfig& c) { return write_number(access(c)); }};
}

// int and int64_t fields; an int field also stops at the largest int.
template <class Access>
ConfigField integer(std::string path, Access access, Range<int64_t> range) {
  using T = FieldType<Access>;
  const Range<int64_t> type_limit{std::nullopt, static_cast<int64_t>(std::numeric_limits<T>::max())};
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            const int64_t value = read_integer(s, path);
            check_range(value, range, s, path);
            check_range(value, type_limit, s, path);
            access(c) = static_cast<T>(value);
          },
          [=](const ExperimentConfig& c) { return std::to_string(access(c)); }};
}

template <class Access>
ConfigField flag(std::string path, Access access) {
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) { access(c) = read_bool(s, path); },
          [=](const ExperimentConfig& c) { return std::string(access(c) ? "true" : "false"); }};
}

// A name from a fixed vocabulary; `noun` says what kind of name it is in "unknown optimizer 'x'".
template <class Access>
ConfigField choice(std::string path, std::string noun, Access access,
                   std::function<std::vector<std::string>(const ConfigVocabulary&)> names) {
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary& vocabulary) {
            const std::vector<std::string> known = names(vocabulary);
            const std::string name = read_text(s, path);
            if (std::find(known.begin(), known.end(), name) == known.end()) {
              const std::vector<std::string> near = nearest_names(name, known);
              config_error(s.where, message_path(s, path),
                           "unknown " + noun + " '" + name + "'" + (near.empty() ? "" : "; did you mean " + join(near, " or ") + "?") +
                               " (known: " + join(known) + ")");
            }
            access(c) = name;
          },
          [=](const ExperimentConfig& c) { return write_text(access(c)); }};
}

std::function<std::vector<std::string>(const ConfigVocabulary&)> fixed(std::vector<std::string> names) {
  return [names = std::move(names)](const ConfigVocabulary&) { return names; };
}

template <class Access>
ConfigField text(std::string path, Access access, std::function<std::string(const std::string&)> problem = {}) {
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            std::string value = read_text(s, path);
            if (problem) {
              const std::string what = problem(value);
              if (!what.empty()) config_error(s.where, message_path(s, path), what);
            }
            access(c) = std::move(value);
          },
          [=](const ExperimentConfig& c) { return write_text(access(c)); }};
}

// vector<double> or vector<float> with a range per item and optionally an exact count.
template <class Access>
ConfigField number_list(std::string path, Access access, Range<double> item_range, size_t exact_count = 0,
                        std::string count_meaning = "") {
  using T = typename FieldType<Access>::value_type;
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            const std::vector<ValueSource> items = read_list(s, path, "a list of numbers");
            if (exact_count && items.size() != exact_count)
              config_error(s.where, message_path(s, path),
                           "expected " + std::to_string(exact_count) + " numbers " + count_meaning + ", got " +
                               (s.node.IsSequence() ? std::to_string(items.size()) : describe(s.node)));
            std::vector<T> values;
            for (const ValueSource& item : items) {
              T value;
              if constexpr (std::is_same_v<T, float>) value = read_float(item, path);
              else value = read_number(item, path);
              check_range(static_cast<double>(value), item_range, item, path);
              values.push_back(value);
            }
            access(c) = std::move(values);
          },
          [=](const ExperimentConfig& c) {
            std::vector<std::string> items;
            for (const T value : access(c)) {
              if constexpr (std::is_same_v<T, float>) items.push_back(write_float(value));
              else items.push_back(write_number(value));
            }
            return write_list(items);
          }};
}

ConfigField milestones_field() {
  const std::string path = "schedule.milestones";
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            std::vector<int64_t> values;
            for (const ValueSource& item : read_list(s, path, "a list of epochs")) {
              const int64_t value = read_integer(item, path);
              check_range(value, Range<int64_t>::at_least(1), item, path);
              if (!values.empty() && value <= values.back())
                config_error(item.where, item.label,
                             "milestones must increase, got " + std::to_string(value) + " after " + std::to_string(values.back()));
              values.push_back(value);
            }
            c.schedule.milestones = std::move(values);
          },
          [](const ExperimentConfig& c) {
            std::vector<std::string> items;
            for (const int64_t m : c.schedule.milestones) items.push_back(std::to_string(m));
            return write_list(items);
          }};
}

// The activation spec is parsed against the activation table and kept in canonical form, so that a
// resolved config names every parameter value that ran.
ConfigField activation_field() {
  const std::string path = "model.activation";
  return {path,
          [=](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
            const std::string spec = read_text(s, path);
            if (spec.empty()) config_error(s.where, message_path(s, path), "expected an activation spec such as relu or \"sugar(surrogate=bsilu)\", got nothing");
            try {
              c.model.activation = activations::ActivationSpec::parse(spec).to_string();
            } catch (const Error& e) {
              config_error(s.where, message_path(s, path), e.what());
            }
          },
          [](const ExperimentConfig& c) { return write_text(c.model.activation); }};
}

// A run name becomes a directory name under runs/.
std::string run_name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty (it names the run directory)";
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char ch) {
    return ch == '/' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
  });
  if (bad_char || name == "." || name == "..")
    return "'" + name + "' cannot name a run directory (expected no '/', '\\' or control characters, and not '.' or '..')";
  return "";
}

std::vector<ConfigField> build_fields() {
  using R = Range<double>;
  using I = Range<int64_t>;
  std::vector<ConfigField> f;
  f.push_back(text("name", [](auto& c) -> auto& { return c.name; }, run_name_problem));
  f.push_back({"seed",
               [](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) { c.seed = read_unsigned(s, "seed"); },
               [](const ExperimentConfig& c) { return std::to_string(c.seed); }});

  f.push_back(choice("model.name", "model", [](auto& c) -> auto& { return c.model.name; },
                     [](const ConfigVocabulary& v) { return v.models; }));
  f.push_back(activation_field());
  f.push_back(flag("model.batch_norm", [](auto& c) -> auto& { return c.model.batch_norm; }));

  f.push_back(choice("data.name", "dataset", [](auto& c) -> auto& { return c.data.name; },
                     [](const ConfigVocabulary&) { return data::dataset_names(); }));
  f.push_back(text("data.root", [](auto& c) -> auto& { return c.data.root; }));
  f.push_back(integer("data.pad_to", [](auto& c) -> auto& { return c.data.pad_to; }, I::at_least(0)));
  f.push_back(flag("data.coarse_labels", [](auto& c) -> auto& { return c.data.coarse_labels; }));
  f.push_back(integer("data.image_size", [](auto& c) -> auto& { return c.data.image_size; }, I::at_least(1)));
  f.push_back(integer("data.train_limit", [](auto& c) -> auto& { return c.data.train_limit; }, I::at_least(0)));
  f.push_back(integer("data.test_limit", [](auto& c) -> auto& { return c.data.test_limit; }, I::at_least(0)));
  f.push_back({"data.val_split",
               [](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
                 const double value = read_number(s, "data.val_split");
                 check_range(value, R::at_least(0), s, "data.val_split");
                 if (value >= 1 && value != std::floor(value))
                   config_error(s.where, message_path(s, "data.val_split"),
                                "expected 0, a fraction in (0, 1) or a whole number of samples, got " + s.node.Scalar());
                 c.data.val_split = value;
               },
               [](const ExperimentConfig& c) { return write_number(c.data.val_split); }});
  f.push_back(number_list("data.mean", [](auto& c) -> auto& { return c.data.mean; }, R::any()));
  f.push_back(number_list("data.std", [](auto& c) -> auto& { return c.data.std; }, R::above(0)));
  f.push_back(integer("data.augment.crop_padding", [](auto& c) -> auto& { return c.data.augment.crop_padding; }, I::at_least(0)));
  f.push_back(flag("data.augment.hflip", [](auto& c) -> auto& { return c.data.augment.hflip; }));
  f.push_back({"data.augment.hflip_probability",
               [](ExperimentConfig& c, const ValueSource& s, const ConfigVocabulary&) {
                 const float value = read_float(s, "data.augment.hflip_probability");
                 check_range(static_cast<double>(value), R::closed(0, 1), s, "data.augment.hflip_probability");
                 c.data.augment.hflip_probability = value;
               },
               [](const ExperimentConfig& c) { return write_float(c.data.augment.hflip_probability); }});
  f.push_back(integer("data.augment.cutout", [](auto& c) -> auto& { return c.data.augment.cutout; }, I::at_least(0)));

  f.push_back(choice("optim.name", "optimizer", [](auto& c) -> auto& { return c.optim.name; }, fixed({"sgd", "adam", "adamw"})));
  f.push_back(number("optim.lr", [](auto& c) -> auto& { return c.optim.lr; }, R::above(0)));
  f.push_back(number("optim.momentum", [](auto& c) -> auto& { return c.optim.momentum; }, R::half_open(0, 1)));
  f.push_back(number("optim.dampening", [](auto& c) -> auto& { return c.optim.dampening; }, R::closed(0, 1)));
  f.push_back(flag("optim.nesterov", [](auto& c) -> auto& { return c.optim.nesterov; }));
  f.push_back(number("optim.weight_decay", [](auto& c) -> auto& { return c.optim.weight_decay; }, R::at_least(0)));
  f.push_back(number_list("optim.betas", [](auto& c) -> auto& { return c.optim.betas; }, R::half_open(0, 1), 2,
                          "[beta1, beta2]"));
  f.push_back(number("optim.eps", [](auto& c) -> auto& { return c.optim.eps; }, R::at_least(0)));

  f.push_back(choice("schedule.name", "schedule", [](auto& c) -> auto& { return c.schedule.name; },
                     fixed({"constant", "step", "multistep", "cosine", "one_cycle"})));
  f.push_back(integer("schedule.warmup_epochs", [](auto& c) -> auto& { return c.schedule.warmup_epochs; }, I::at_least(0)));
  f.push_back(integer("schedule.step_size", [](auto& c) -> auto& { return c.schedule.step_size; }, I::at_least(1)));
  f.push_back(number("schedule.gamma", [](auto& c) -> auto& { return c.schedule.gamma; }, R::above(0)));
  f.push_back(milestones_field());
  f.push_back(number("schedule.eta_min", [](auto& c) -> auto& { return c.schedule.eta_min; }, R::at_least(0)));
  f.push_back(number("schedule.pct_start", [](auto& c) -> auto& { return c.schedule.pct_start; }, R::open(0, 1)));
  f.push_back(number("schedule.div_factor", [](auto& c) -> auto& { return c.schedule.div_factor; }, R::above(0)));
  f.push_back(number("schedule.final_div_factor", [](auto& c) -> auto& { return c.schedule.final_div_factor; }, R::above(0)));

  f.push_back(integer("train.epochs", [](auto& c) -> auto& { return c.train.epochs; }, I::at_least(1)));
  f.push_back(integer("train.batch_size", [](auto& c) -> auto& { return c.train.batch_size; }, I::at_least(1)));
  f.push_back(integer("train.eval_batch_size", [](auto& c) -> auto& { return c.train.eval_batch_size; }, I::at_least(1)));
  f.push_back(integer("train.threads", [](auto& c) -> auto& { return c.train.threads; }, I::at_least(0)));
  f.push_back(choice("train.dtype", "dtype", [](auto& c) -> auto& { return c.train.dtype; }, fixed({"f32", "bf16"})));
  f.push_back(number("train.label_smoothing", [](auto& c) -> auto& { return c.train.label_smoothing; }, R::half_open(0, 1)));
  f.push_back(choice("train.conv_algo", "convolution algorithm", [](auto& c) -> auto& { return c.train.conv_algo; },
                     fixed({"auto", "direct", "winograd"})));
  f.push_back(integer("train.checkpoint_every_steps", [](auto& c) -> auto& { return c.train.checkpoint_every_steps; },
                      I::at_least(0)));
  f.push_back(choice("train.on_nonfinite", "policy", [](auto& c) -> auto& { return c.train.on_nonfinite; },
                     fixed({"stop", "skip_batch"})));
  f.push_back(flag("train.sync_bn", [](auto& c) -> auto& { return c.train.sync_bn; }));
  f.push_back(integer("train.eval_every", [](auto& c) -> auto& { return c.train.eval_every; }, I::at_least(1)));
  f.push_back(flag("train.neuron_stats", [](auto& c) -> auto& { return c.train.neuron_stats; }));
  f.push_back(flag("train.recompute", [](auto& c) -> auto& { return c.train.recompute; }));
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

std::vector<std::string> nearest_names(std::string_view name, const std::vector<std::string>& candidates) {
  // A misspelling is within about a third of the word's letters (at least 2 edits: "lrr", "modle");
  // an abbreviation ("wino", "skip") counts as one edit away from the name it starts.
  const auto distance = [&](const std::string& candidate) {
    const bool abbreviation = name.size() >= 3 && candidate.size() > name.size() && candidate.compare(0, name.size(), name) == 0;
    return std::min(activations::edit_distance(name, candidate), abbreviation ? size_t{1} : SIZE_MAX);
  };
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  size_t best = limit + 1;
  for (const std::string& candidate : candidates) best = std::min(best, distance(candidate));
  std::vector<std::string> near;
  if (best > limit) return near;
  for (const std::string& candidate : candidates)
    if (distance(candidate) == best && near.size() < 3) near.push_back(candidate);
  return near;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

const std::vector<std::string>& default_model_names() {
  static const std::vector<std::string> names{"resnet18", "resnet34", "vgg11", "vgg13", "vgg16", "vgg19"};
  return names;
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
