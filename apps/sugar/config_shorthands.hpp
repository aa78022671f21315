#pragma once
// A command that runs a config (bench, tune) reads it from an optional CONFIG file (else the defaults),
// its --set overrides, and shorthand flags that each stand for one `--set KEY=VALUE` (`--batch 64` is
// `--set train.batch_size=64`). One loader validates them all, so a shorthand accepts exactly what the
// key accepts, and a shorthand and a --set that give one key two values are one error naming both.
#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "global_threads.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"

namespace sugar::cli {

struct ConfigArgs {
  std::string file;                    // empty: the defaults
  std::vector<std::string> overrides;  // --set, in order
  std::vector<std::pair<std::string, std::string>> shorthands;  // ("model.name=vgg11", "--model vgg11")
  CLI::Option* global_threads = nullptr;  // `sugar --threads`: train.threads unless set otherwise
};

// `--flag VALUE`, standing for `--set key=VALUE`. `args` must outlive the parse.
inline CLI::Option* add_shorthand(CLI::App* app, ConfigArgs* args, const std::string& flag, const std::string& key,
                                  const std::string& help, const std::string& type_name) {
  return app
      ->add_option_function<std::string>(
          flag, [args, key, flag](const std::string& value) { args->shorthands.push_back({key + "=" + value, flag + " " + value}); },
          help + " (shorthand for --set " + key + "=" + type_name + ")")
      ->type_name(type_name);
}

// A flag without a value, standing for `--set key=value`.
inline CLI::Option* add_shorthand_flag(CLI::App* app, ConfigArgs* args, const std::string& flag, const std::string& key,
                                       const std::string& value, const std::string& help) {
  return app->add_flag_callback(
      flag, [args, key, value, flag] { args->shorthands.push_back({key + "=" + value, flag}); },
      help + " (shorthand for --set " + key + "=" + value + ")");
}

// The config: the file (or the defaults, named `source_name` in messages), --set, the shorthands, then
// `extra` overrides. An error about a shorthand names the flag the user typed.
inline config::ExperimentConfig load_config_args(const ConfigArgs& args, const std::string& source_name,
                                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = args.overrides;
  for (const auto& [override_text, flag] : args.shorthands) overrides.push_back(override_text);
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  overrides = with_global_threads(std::move(overrides), args.global_threads);
  try {
    return args.file.empty() ? config::load_config_text("", source_name, overrides)
                             : config::load_config(args.file, overrides);
  } catch (const Error& e) {
    // The loader names the override ("--set train.dtype=f16: ..."); name the flag instead.
    const std::string message = e.what();
    for (const auto& [override_text, flag] : args.shorthands) {
      const std::string prefix = "--set " + override_text + ":";
      if (message.rfind(prefix, 0) == 0) throw Error(flag + ":" + message.substr(prefix.size()), e.kind());
    }
    throw;
  }
}

}  // namespace sugar::cli
