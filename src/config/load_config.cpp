// Loading: YAML text -> (key path, value, place) pairs -> overrides applied -> typed fields read ->
// the checks that involve several keys. Every failure is one line naming the place and the key.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "sugar/activations/spec.hpp"
#include "sugar/config/config_schema.hpp"
#include "sugar/config/yaml_values.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/io/regular_file.hpp"
#include "sugar/text.hpp"

namespace sugar::config {
namespace {

struct SweepEntry {
  std::string key;
  ValueSource key_source;  // where the key is written, for "unknown key"
  ValueSource list;
};

// What a config file (and then the overrides) say, before any value is interpreted.
struct Collected {
  std::string file;
  std::vector<std::pair<std::string, ValueSource>> values;  // leaf key path -> value, in file order
  std::vector<SweepEntry> sweep;                            // in file order

  void set_value(const std::string& path, ValueSource source) {
    for (auto& [existing, value] : values)
      if (existing == path) {
        value = std::move(source);
        return;
      }
    values.emplace_back(path, std::move(source));
  }
  void set_sweep(SweepEntry entry) {
    for (SweepEntry& existing : sweep)
      if (existing.key == entry.key) {
        existing = std::move(entry);
        return;
      }
    sweep.push_back(std::move(entry));
  }
  const ValueSource* find(const std::string& path) const {
    for (const auto& [existing, value] : values)
      if (existing == path) return &value;
    return nullptr;
  }
  // Where a key was given, or the file when it was left at its default.
  std::string where(const std::string& path) const {
    const ValueSource* source = find(path);
    return source ? source->where : file;
  }
};

// An empty value (`lr:`) has no place of its own; its key's place is where the user looks.
ValueSource value_source(const YAML::Node& key, const YAML::Node& value, const std::string& file) {
  const YAML::Mark mark = value.IsNull() ? key.Mark() : value.Mark();
  return {value, location(file, mark), file, ""};
}

std::string section_key(const std::string& section, const std::string& name) {
  return section.empty() ? name : section + "." + name;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& section, const std::string& name) {
  const std::vector<std::string> allowed = section_children(section);
  config_error(where, section_key(section, name),
               "unknown key" + text::did_you_mean(name, allowed) + " (allowed: " + text::join(allowed) + ")");
}

// Keys of a mapping as names, each once. yaml-cpp keeps both copies of a repeated key; a config
// that says a thing twice is a mistake whichever copy would win.
std::vector<std::pair<YAML::Node, YAML::Node>> mapping_entries(const YAML::Node& map, const std::string& section,
                                                              const std::string& file) {
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : map) {
    const YAML::Node key = entry.first;
    if (!key.IsScalar())
      config_error(location(file, key.Mark()), section, "expected a key name, got " + describe(key));
    const auto [it, inserted] = seen.emplace(key.Scalar(), key.Mark());
    if (!inserted)
      config_error(location(file, key.Mark()), section_key(section, key.Scalar()),
                   "key given twice (first at line " + std::to_string(it->second.line + 1) + ")");
    entries.emplace_back(key, entry.second);
  }
  return entries;
}

void collect_sweep(const YAML::Node& key, const YAML::Node& node, const std::string& file, Collected& out) {
  if (node.IsNull()) return;
  if (!node.IsMap())
    config_error(value_source(key, node, file).where, "sweep",
                 "expected a mapping from key paths to lists of values, got " + describe(node));
  for (const auto& [axis_key, values] : mapping_entries(node, "sweep", file))
    out.sweep.push_back({axis_key.Scalar(), {axis_key, location(file, axis_key.Mark()), file, ""},
                         value_source(axis_key, values, file)});
}

void collect_section(const YAML::Node& map, const std::string& section, const std::string& file, Collected& out) {
  for (const auto& [key, value] : mapping_entries(map, section, file)) {
    const std::string name = key.Scalar();
    const std::string path = section_key(section, name);
    if (section.empty() && name == "sweep") {
      collect_sweep(key, value, file, out);
    } else if (find_field(path)) {
      out.values.emplace_back(path, value_source(key, value, file));
    } else if (is_section(path)) {
      if (value.IsMap()) {
        collect_section(value, path, file, out);
      } else if (!value.IsNull()) {  // an empty section keeps its defaults
        config_error(value_source(key, value, file).where, path,
                     "expected a mapping with keys " + text::join(section_children(path)) + ", got " + describe(value));
      }
    } else {
      unknown_key(location(file, key.Mark()), section, name);
    }
  }
}

// Where the roots of the documents of a YAML stream start, without building them; and a nesting
// limit. yaml-cpp's parser recurses once per level and its own DepthGuard stops only at 2000 levels,
// which overflows a small stack (256 KB) first; it reports every collection here before it goes down
// a level, so throwing at kMaxYamlDepth stops it while its stack is still short. A config nests 4 deep.
constexpr int kMaxYamlDepth = 32;
const std::string kTooDeep = "nested deeper than " + std::to_string(kMaxYamlDepth) + " levels";

struct TooDeep {
  YAML::Mark mark;
};

class DocumentRoots : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& roots() const { return roots_; }
  void OnDocumentStart(const YAML::Mark&) override { expect_root_ = true; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
    enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(mark);
    enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void node(const YAML::Mark& mark) {
    if (expect_root_) roots_.push_back(mark);
    expect_root_ = false;
  }
  void enter(const YAML::Mark& mark) {
    if (++depth_ > kMaxYamlDepth) throw TooDeep{mark};
  }
  std::vector<YAML::Mark> roots_;
  bool expect_root_ = false;
  int depth_ = 0;
};

// The first document of `text`, after checking that there is no second one. Not YAML::LoadAll: in
// yaml-cpp 0.7 (Debian 12) it never returns on a ',' outside a [...] or {...} list, whose token the
// parser reports as a null document without consuming it, so LoadAll collects null documents until
// memory runs out (yaml-cpp issue 1040, fixed upstream after 0.7; found by tests/fuzz/fuzz_config).
// Asking the parser for at most two documents bounds that, and the stuck "second document" shows
// where the text went wrong.
YAML::Node first_document(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentRoots documents;
  try {
    for (int i = 0; i < 2 && parser.HandleNextDocument(documents); ++i) {
    }
  } catch (const TooDeep& deep) {
    config_error(location(file, deep.mark), "", "malformed YAML: " + kTooDeep);
  }
  if (documents.roots().size() > 1) {
    const YAML::Mark& second = documents.roots()[1];
    const size_t at = static_cast<size_t>(std::max(second.pos, 0));
    const std::string_view before = text.substr(0, at);
    const bool separator = before.starts_with("---") || before.find("\n---") != std::string_view::npos;
    if (!separator && at < text.size()) {
      config_error(location(file, second), "", std::string("malformed YAML: unexpected '") + text[at] + "'");
    }
    config_error(location(file, second), "", "expected one YAML document, found a second one ('---')");
  }
  return YAML::Load(std::string(text));
}

Collected collect_text(std::string_view text, const std::string& file) {
  YAML::Node root;
  try {
    root = first_document(text, file);
  } catch (const YAML::DeepRecursion& e) {  // its own message says "bad file"
    config_error(location(file, e.mark), "", "malformed YAML: nested too deeply");
  } catch (const YAML::Exception& e) {
    config_error(location(file, e.mark), "", "malformed YAML: " + e.msg);
  }
  Collected out;
  out.file = file;
  if (root.IsNull()) return out;  // an empty file: every default
  if (!root.IsMap())
    config_error(location(file, root.Mark()), "",
                 "expected a mapping with keys " + text::join(section_children("")) + ", got " + describe(root));
  collect_section(root, "", file, out);
  return out;
}

// A sweep axis, each value checked by the field it will set.
SweepAxis read_sweep_axis(const SweepEntry& entry) {
  const std::string label = "sweep." + entry.key;
  const ConfigField* field = find_field(entry.key);
  if (!field) {
    config_error(entry.key_source.where, label,
                 "unknown key" + text::did_you_mean(entry.key, config_key_paths()) +
                     " (a sweep key is a config key path such as seed, model.activation or optim.lr)");
  }
  const ValueSource& list = entry.list;
  if (!list.node.IsSequence() || list.node.size() == 0)
    config_error(list.where, label,
                 "expected a list of values, got " + (list.node.IsSequence() ? "an empty list" : describe(list.node)));
  SweepAxis axis{entry.key, {}};
  std::vector<std::string> canonical;
  ExperimentConfig scratch;
  for (size_t i = 0; i < list.node.size(); ++i) {
    const YAML::Node item = list.node[i];
    const ValueSource source{item, item_where(list, item), list.file, label + "[" + std::to_string(i) + "]"};
    if (!item.IsScalar()) config_error(source.where, source.label, "expected a single value, got " + describe(item));
    field->read(scratch, source);
    const std::string value = field->write(scratch);
    for (size_t j = 0; j < canonical.size(); ++j)
      if (canonical[j] == value)
        config_error(source.where, source.label,
                     "'" + item.Scalar() + "' is already in the list as '" + axis.values[j] + "'");
    canonical.push_back(value);
    axis.values.push_back(item.Scalar());
  }
  return axis;
}

std::string trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

// Applies "key.path=value" overrides to what the file said. The same key given twice must say the
// same thing (compared after reading, so 0.1 and 0.10 agree).
void apply_overrides(const std::vector<std::string>& overrides, Collected& out) {
  std::map<std::string, std::pair<std::string, std::string>> given;  // key -> (canonical value, override)
  for (const std::string& text : overrides) {
    const std::string where = "--set " + text;
    const size_t equals = text.find('=');
    const std::string path = equals == std::string::npos ? "" : trim(std::string_view(text).substr(0, equals));
    if (path.empty()) config_error(where, "", "expected key.path=value, e.g. optim.lr=0.05");
    YAML::Node node;
    try {
      const std::string value = text.substr(equals + 1);
      std::istringstream in(value);
      YAML::Parser parser(in);
      DocumentRoots depth_only;
      parser.HandleNextDocument(depth_only);  // the value's nesting, checked before YAML::Load recurses
      node = YAML::Load(value);
    } catch (const TooDeep&) {
      config_error(where, path, "malformed value: " + kTooDeep);
    } catch (const YAML::Exception& e) {
      config_error(where, path, "malformed value: " + e.msg);
    }
    const ValueSource source{node, where, "", ""};

    std::string canonical;
    const bool is_sweep = path.rfind("sweep.", 0) == 0;
    if (is_sweep) {
      SweepEntry entry{path.substr(6), {YAML::Node(), where, "", ""}, source};
      canonical = text::join(read_sweep_axis(entry).values, "\n");
      out.set_sweep(std::move(entry));
    } else if (const ConfigField* field = find_field(path)) {
      ExperimentConfig scratch;
      field->read(scratch, source);
      canonical = field->write(scratch);
      out.set_value(path, source);
    } else if (path == "sweep") {
      config_error(where, path, "set one grid axis at a time: sweep.<key path>=[value, ...]");
    } else if (is_section(path)) {
      config_error(where, path, "is a section, not a value; set one of its keys (" + text::join(section_children(path)) + ")");
    } else {
      config_error(where, path,
                   "unknown key" + text::did_you_mean(path, config_key_paths()) +
                        " ('sugar train --list-keys' lists the config keys)");
    }
    const auto [it, inserted] = given.emplace(path, std::pair{canonical, text});
    if (!inserted && it->second.first != canonical)
      config_error(where, path, "conflicts with --set " + it->second.second + " (the same key given twice with different values)");
  }
}

// The checks that involve more than one key; each names the key to change.
void check_consistency(const ExperimentConfig& c, const Collected& given) {
  if (c.data.coarse_labels && c.data.name != "cifar100")
    config_error(given.where("data.coarse_labels"), "data.coarse_labels",
                 "only cifar100 has coarse labels, but data.name is " + c.data.name);
  if ((c.data.name == "mnist" || c.data.name == "fashion_mnist") && c.data.pad_to != 0 && c.data.pad_to < 28)
    config_error(given.where("data.pad_to"), "data.pad_to",
                 "expected 0 (keep 28x28) or at least 28 for " + c.data.name + ", got " + std::to_string(c.data.pad_to));
  if (c.data.mean.size() != c.data.std.size()) {
    const std::string key = given.find("data.std") ? "data.std" : "data.mean";
    config_error(given.where(key), key,
                 "data.mean has " + std::to_string(c.data.mean.size()) + " values but data.std has " +
                     std::to_string(c.data.std.size()) + "; expected as many of each");
  }
  if (const auto shape = data::expected_image_shape(c.data))
    if (const auto problem = image_shape_problem(c, *shape, " of " + c.data.name))
      config_error(given.where(problem->key), problem->key, problem->what);

  if (!c.model.init_from_sha256.empty() && c.model.init_from.empty())
    config_error(given.where("model.init_from_sha256"), "model.init_from_sha256",
                 "is the digest of the model.init_from file, but model.init_from is empty; name the file, or "
                 "remove the digest");

  // What the model cannot take, asked of the model registry without building the model.
  models::ModelOptions model;
  model.name = c.model.name;
  model.batch_norm = c.model.batch_norm;
  const auto shape = data::expected_image_shape(c.data);
  if (shape) model.image_size = std::min(shape->height, shape->width);
  if (const auto problem = models::option_problem(model)) {
    if (problem->option == "batch_norm") {
      config_error(given.where("model.batch_norm"), "model.batch_norm", problem->what);
    } else if (shape) {
      // The key that sets the image side: the padding of the 28x28 datasets, the resize of an image
      // folder; CIFAR's 32x32 is fixed, so there the model is what to change.
      const std::string key = c.data.name == "mnist" || c.data.name == "fashion_mnist" ? "data.pad_to"
                              : c.data.name == "image_folder"                          ? "data.image_size"
                                                                                       : "model.name";
      config_error(given.where(key), key, problem->what);
    }
  }

  if (c.optim.nesterov && c.optim.name != optim::OptimizerKind::sgd)
    config_error(given.where("optim.nesterov"), "optim.nesterov",
                 "only sgd has Nesterov momentum, but optim.name is " + name_of(c.optim.name));
  if (c.optim.nesterov && (c.optim.momentum <= 0 || c.optim.dampening != 0))
    config_error(given.where("optim.nesterov"), "optim.nesterov",
                 "needs optim.momentum > 0 and optim.dampening 0 (as PyTorch's SGD), got momentum " +
                     write_number(c.optim.momentum) + " and dampening " + write_number(c.optim.dampening));

  if (c.schedule.warmup_epochs > 0 && c.schedule.name != optim::ScheduleKind::cosine)
    config_error(given.where("schedule.warmup_epochs"), "schedule.warmup_epochs",
                 "only the cosine schedule has a warm-up, but schedule.name is " + name_of(c.schedule.name));
  if (c.schedule.warmup_epochs > 0 && c.schedule.warmup_epochs >= c.train.epochs)
    config_error(given.where("schedule.warmup_epochs"), "schedule.warmup_epochs",
                 "must be smaller than train.epochs (" + std::to_string(c.train.epochs) + "), got " +
                     std::to_string(c.schedule.warmup_epochs));
  if (c.schedule.name == optim::ScheduleKind::multistep && c.schedule.milestones.empty())
    config_error(given.where("schedule.milestones"), "schedule.milestones",
                 "the multistep schedule needs at least one milestone epoch, e.g. [100, 150]");
}

ExperimentConfig resolve(Collected given, const std::vector<std::string>& overrides) {
  apply_overrides(overrides, given);
  ExperimentConfig config;
  for (const auto& [path, source] : given.values) find_field(path)->read(config, source);
  if (!given.find("name")) {
    config.name = std::filesystem::path(given.file).stem().string();
    // A stem that cannot name a run directory is reported against the file.
    find_field("name")->read(config, {YAML::Node(config.name), given.file, "", ""});
  }
  // Unset, model.init is the model family's own (ConvNeXt's trunc_normal; VGG and ResNet keep
  // pytorch_default, the key's default before ConvNeXt existed), resolved here so that config.yaml
  // records it.
  if (!given.find("model.init")) config.model.init = models::default_init(config.model.name);
  // Likewise model.activation (unset, or `design`): ConvNeXt's GELU, VGG's and ResNet's ReLU (the key's
  // default before); `design` stays for a model that mixes activations (MobileNetV3).
  if (!given.find("model.activation") || config.model.activation == models::kDesignActivation) {
    const std::string own = models::resolve_design_activation(config.model.name, models::kDesignActivation);
    config.model.activation =
        own == models::kDesignActivation ? own : activations::ActivationSpec::parse(own).to_string();
  }
  for (const SweepEntry& entry : given.sweep) config.sweep.push_back(read_sweep_axis(entry));
  check_consistency(config, given);
  return config;
}

}  // namespace

ExperimentConfig load_config_text(std::string_view text, const std::string& source_name,
                                  const std::vector<std::string>& overrides) {
  return resolve(collect_text(text, source_name), overrides);
}

std::string read_config_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    throw Error(path + ": cannot read the config file: no such file", ErrorKind::usage);
  try {
    // Stops a config given as a huge file (or /dev/zero through a link) before it is read.
    return io::read_regular_file(path, io::kMaxConfigFileBytes, "config file");
  } catch (const Error& e) {
    throw Error(path + ": cannot read the config file: " + e.what(), ErrorKind::usage);
  }
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_config_text(read_config_file(path), path, overrides);
}

ExperimentConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  Collected given = collect_text(read_config_file(path), path);
  for (const KeyAddedLater& key : keys_added_later())
    if (!given.find(key.path)) given.set_value(key.path, {YAML::Node(key.value_before), path, "", ""});
  return resolve(std::move(given), overrides);
}

}  // namespace sugar::config
