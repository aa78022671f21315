#include "sugar/report/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "sugar/config/config_schema.hpp"
#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::report {
namespace {

constexpr const char* kActivationKey = "model.activation";

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The keys in which a and b differ and that the report does not ignore.
std::vector<std::string> relevant_diff(const config::ExperimentConfig& a, const config::ExperimentConfig& b,
                                       const std::vector<std::string>& ignored) {
  std::vector<std::string> keys;
  for (const std::string& key : config::diff_keys(a, b))
    if (!contains(ignored, key)) keys.push_back(key);
  return keys;
}

void check_ignore_keys(const std::vector<std::string>& keys) {
  const std::vector<std::string>& known = config::config_key_paths();
  for (const std::string& key : keys) {
    if (key == kActivationKey)
      throw Error("report --ignore: model.activation cannot be ignored (it is what the report compares)",
                  ErrorKind::usage);
    if (key != "sweep" && !contains(known, key))
      throw Error("report --ignore: " + unknown_key_message(key), ErrorKind::usage);
  }
}

// Dead fraction per site at each run's last neurons.csv epoch, averaged over the runs that have it (a
// NaN, written for a site that saw no input, is left out).
std::vector<SiteDeadFraction> dead_fractions(const std::vector<RunData>& runs, const std::vector<size_t>& members) {
  std::vector<SiteDeadFraction> sites;
  std::map<std::string, std::vector<double>> values;
  for (size_t r : members) {
    const std::vector<NeuronRow>& rows = runs[r].neurons;
    if (rows.empty()) continue;
    int64_t last = 0;
    for (const NeuronRow& row : rows) last = std::max(last, row.epoch);
    for (const NeuronRow& row : rows) {
      if (row.epoch != last) continue;
      if (values.find(row.site) == values.end()) sites.push_back({row.site, 0, 0});
      if (!std::isnan(row.dead_fraction)) values[row.site].push_back(row.dead_fraction);
    }
  }
  for (SiteDeadFraction& site : sites) {
    site.mean = mean(values[site.site]);
    site.runs = static_cast<int64_t>(values[site.site].size());
  }
  return sites;
}

// Letters, digits, '-' and '.' kept; anything else becomes '_' (file names from model and data names).
std::string file_safe(const std::string& text) {
  std::string safe;
  for (char c : text) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return safe;
}

void summarise(Group& group, const std::vector<RunData>& runs, const ReportOptions& options) {
  const config::ExperimentConfig& config = runs[group.runs.front()].config;
  group.activation = config.model.activation;
  group.model = config.model.name;
  group.dataset = config.data.name;
  group.eval_split = runs[group.runs.front()].metrics.back().eval_split;
  std::vector<double> losses;
  for (size_t r : group.runs) {
    const std::vector<MetricsRow>& metrics = runs[r].metrics;
    group.seeds.push_back(runs[r].config.seed);
    group.final_top1.push_back(metrics.back().eval_top1);
    losses.push_back(metrics.back().train_loss);
    if (group.eval_split == "val") {
      double best = -std::numeric_limits<double>::infinity();
      for (const MetricsRow& row : metrics)
        if (row.evaluated) best = std::max(best, row.eval_top1);
      group.best_val_top1.push_back(best);
    }
  }
  group.final_top1_mean = mean(group.final_top1);
  group.final_top1_std = sample_std(group.final_top1);
  group.best_val_top1_mean = mean(group.best_val_top1);
  group.best_val_top1_std = sample_std(group.best_val_top1);
  group.final_train_loss_mean = mean(losses);
  group.final_train_loss_std = sample_std(losses);
  group.eval_top1 = metrics_curve(runs, group.runs, eval_top1_of);
  group.train_top1 = metrics_curve(runs, group.runs, train_top1_of);
  group.top1_gap = metrics_curve(runs, group.runs, top1_gap_of);
  group.train_loss = metrics_curve(runs, group.runs, train_loss_of);
  group.largest_drop = largest_drop(runs, group.runs);
  if (options.target_acc) {
    for (size_t i = 0; i < group.eval_top1.epochs.size() && !group.target_epoch; ++i)
      if (group.eval_top1.mean[i] >= *options.target_acc) group.target_epoch = group.eval_top1.epochs[i];
  }
  group.dead = dead_fractions(runs, group.runs);
  group.sites = site_curves(runs, group.runs);
  for (size_t r : group.runs) group.neuron_runs += runs[r].neurons.empty() ? 0 : 1;
}

}  // namespace

std::string unknown_key_message(const std::string& key) {
  const std::string suggestion = text::did_you_mean(key, config::config_key_paths());
  return "unknown config key '" + key + "'" +
         (suggestion.empty() ? std::string(" (keys are dotted paths such as optim.lr)") : suggestion);
}

std::vector<std::string> ignored_keys_by_default() {
  std::vector<std::string> keys{"seed"};
  for (const std::string& key : config::non_math_keys()) keys.push_back(key);
  return keys;
}

std::string key_value(const config::ExperimentConfig& config, const std::string& key) {
  const config::ConfigField* field = config::find_field(key);
  if (field == nullptr) return "";
  std::string text = field->write(config);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    std::string unquoted;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] == '\\' && i + 2 < text.size()) ++i;
      unquoted += text[i];
    }
    text = unquoted;
  }
  return text;
}

Report build_report(const std::vector<RunData>& runs, const ReportOptions& options) {
  check_ignore_keys(options.ignore_keys);
  Report report;
  report.options = options;
  report.ignored_keys = ignored_keys_by_default();
  for (const std::string& key : options.ignore_keys)
    if (!contains(report.ignored_keys, key)) report.ignored_keys.push_back(key);
  const std::vector<std::string>& ignored = report.ignored_keys;

  // Replicates: finished runs whose configs differ only in ignored keys.
  std::vector<Group> groups;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (!runs[r].finished()) {
      report.unfinished.push_back(r);
      continue;
    }
    auto same = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return relevant_diff(runs[g.runs.front()].config, runs[r].config, ignored).empty();
    });
    if (same == groups.end()) {
      groups.emplace_back();
      same = groups.end() - 1;
    }
    same->runs.push_back(r);
  }
  for (Group& group : groups) {
    std::stable_sort(group.runs.begin(), group.runs.end(),
                     [&](size_t a, size_t b) { return runs[a].config.seed < runs[b].config.seed; });
    for (size_t i = 1; i < group.runs.size(); ++i) {
      const RunData& a = runs[group.runs[i - 1]];
      const RunData& b = runs[group.runs[i]];
      if (a.config.seed == b.config.seed) {
        throw Error("report: " + a.dir + " and " + b.dir + " are the same configuration with the same seed " +
                        std::to_string(a.config.seed) + " (give only one of them)",
                    ErrorKind::runtime);
      }
    }
  }

  // Columns: every key that differs between two groups, in config order; the activation always.
  std::set<std::string> varying{kActivationKey};
  for (size_t i = 0; i < groups.size(); ++i)
    for (size_t j = i + 1; j < groups.size(); ++j)
      for (const std::string& key :
           relevant_diff(runs[groups[i].runs.front()].config, runs[groups[j].runs.front()].config, ignored))
        varying.insert(key);
  for (const std::string& key : config::config_key_paths())
    if (varying.count(key) != 0) report.columns.push_back(key);

  for (Group& group : groups) {
    for (const std::string& key : report.columns) group.values.push_back(key_value(runs[group.runs.front()].config, key));
    summarise(group, runs, options);
  }

  // Order: by the other columns, then the baseline, then the activation.
  const auto activation_column =
      static_cast<size_t>(std::find(report.columns.begin(), report.columns.end(), kActivationKey) -
                          report.columns.begin());
  const auto sort_key = [&](const Group& g) {
    std::vector<std::string> key;
    for (size_t c = 0; c < g.values.size(); ++c)
      if (c != activation_column) key.push_back(g.values[c]);
    key.push_back(g.activation == options.baseline_activation ? "0" : "1");
    key.push_back(g.activation);
    return key;
  };
  std::stable_sort(groups.begin(), groups.end(),
                   [&](const Group& a, const Group& b) { return sort_key(a) < sort_key(b); });

  // Families (the same config but for the activation) and, within each, the baseline.
  std::vector<std::string> family_ignored = ignored;
  family_ignored.push_back(kActivationKey);
  std::map<std::string, int> stems_used;
  for (size_t g = 0; g < groups.size(); ++g) {
    const config::ExperimentConfig& config = runs[groups[g].runs.front()].config;
    size_t f = 0;
    while (f < report.families.size() &&
           !relevant_diff(runs[groups[report.families[f].groups.front()].runs.front()].config, config, family_ignored)
                .empty())
      ++f;
    if (f == report.families.size()) {
      Family family;
      family.model = groups[g].model;
      family.dataset = groups[g].dataset;
      family.label = family.model + " / " + family.dataset;
      for (size_t c = 0; c < report.columns.size(); ++c) {
        const std::string& key = report.columns[c];
        if (key != kActivationKey && key != "model.name" && key != "data.name")
          family.label += ", " + key + "=" + groups[g].values[c];
      }
      const std::string stem = file_safe(family.model + "_" + family.dataset);
      const int used = ++stems_used[stem];
      family.file_stem = used == 1 ? stem : stem + "_" + std::to_string(used);
      report.families.push_back(std::move(family));
    }
    report.families[f].groups.push_back(g);
    groups[g].family = f;
  }
  for (Group& group : groups) {
    if (group.activation == options.baseline_activation) continue;
    for (size_t other : report.families[group.family].groups)
      if (groups[other].activation == options.baseline_activation) group.baseline = other;
    if (!group.baseline) continue;
    const Group& base = groups[*group.baseline];
    std::vector<double> a, b;
    for (size_t i = 0; i < group.seeds.size(); ++i) {
      const auto it = std::find(base.seeds.begin(), base.seeds.end(), group.seeds[i]);
      if (it == base.seeds.end()) continue;
      group.paired_seeds.push_back(group.seeds[i]);
      a.push_back(base.final_top1[static_cast<size_t>(it - base.seeds.begin())]);
      b.push_back(group.final_top1[i]);
    }
    if (!a.empty()) group.difference = paired_difference(a, b, options.confidence);
  }
  report.groups = std::move(groups);
  return report;
}

}  // namespace sugar::report
