// Adding your own activation to Sugar, outside the library: register one row (name, parameters,
// f, f'), then hand over to the sugar command line. From then on the name works everywhere a spec
// does: in configs, `activations list/eval/plot`, and as a SUGAR surrogate.
//
//   custom_activation activations eval 'squareplus(b=4)' --x=-2,0,1
//   custom_activation activations eval 'sugar(surrogate=squareplus, b=1)' --x=-2,0,1
//   custom_activation activations plot squareplus 'sugar(surrogate=squareplus)' --out squareplus.png
#include <cmath>

#include "sugar/activations/registry.hpp"
#include "sugar/cli.hpp"

namespace {

// Squareplus (So, 2021): a smooth ReLU made of a square root, (x + sqrt(x^2 + b)) / 2, b > 0.
void register_squareplus() {
  sugar::activations::ActivationRow row;
  row.name = "squareplus";
  row.doc = "(x + sqrt(x^2 + b)) / 2: a smooth ReLU without exponentials (So, 2021)";
  row.params = {sugar::activations::ActivationParam::number("b", 4, "curvature near 0").greater_than(0)};
  // p[0] is b, the parameters come in the order they are declared above.
  row.forward = [](float x, const float* p) { return 0.5f * (x + std::sqrt(x * x + p[0])); };
  row.derivative = [](float x, const float* p) { return 0.5f * (1.0f + x / std::sqrt(x * x + p[0])); };
  sugar::activations::register_activation(std::move(row));
}

}  // namespace

int main(int argc, char** argv) {
  register_squareplus();
  return sugar::cli::main(argc, argv);
}
