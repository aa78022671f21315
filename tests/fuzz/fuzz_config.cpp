// The experiment config loader (YAML text -> validated ExperimentConfig). An accepted config must
// survive the documented round trip load_config_text(to_yaml(c)) == c.
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sugar/config/config_yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sugar::fuzz::accept_or_reject([&] {
    const sugar::config::ExperimentConfig config = sugar::config::load_config_text(text, "fuzz.yaml");
    const std::string yaml = sugar::config::to_yaml(config);
    sugar::config::ExperimentConfig again;
    try {
      again = sugar::config::load_config_text(yaml, "fuzz.yaml");
    } catch (const sugar::Error& e) {
      sugar::fuzz::broken(std::string("to_yaml of an accepted config does not load: ") + e.what() + "\n" + yaml);
    }
    if (!(again == config)) sugar::fuzz::broken("to_yaml does not round-trip:\n" + yaml);
  });
  return 0;
}
