// The activation spec parser ("sugar(surrogate=elu(alpha=0.5), region=negative)"). An accepted spec
// must print canonically and read back to itself: parse(to_string(s)) == s, and printing is stable.
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "sugar/activations/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sugar::fuzz::accept_or_reject([&] {
    using sugar::activations::ActivationSpec;
    const ActivationSpec spec = ActivationSpec::parse(text);
    const std::string canonical = spec.to_string();
    ActivationSpec again;
    try {
      again = ActivationSpec::parse(canonical);
    } catch (const sugar::Error& e) {
      sugar::fuzz::broken("the canonical text '" + canonical + "' does not parse: " + e.what());
    }
    if (!(again == spec)) sugar::fuzz::broken("'" + canonical + "' does not read back to the same spec");
    if (again.to_string() != canonical) sugar::fuzz::broken("'" + canonical + "' prints as '" + again.to_string() + "'");
  });
  return 0;
}
