#include "sugar/nn/init.hpp"

#include <cmath>

#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::nn::init {

namespace {

float* checked_values(Tensor& t, const char* initialiser) {
  SUGAR_CHECK(t.defined(), "init::", initialiser, ": undefined tensor");
  SUGAR_CHECK(t.dtype() == DType::f32 && t.is_plain(), "init::", initialiser, ": tensor '", t.name(),
              "' must be plain f32, got ", describe(t.desc()));
  t.bump_version();  // the caller overwrites the values
  return t.data<float>();
}

int64_t receptive_field(const Tensor& weight, const char* what) {
  SUGAR_CHECK(weight.ndim() >= 2, "init::", what, ": needs a weight with at least 2 dimensions, got ",
              to_string(weight.shape()), " for '", weight.name(), "'");
  int64_t field = 1;
  for (int d = 2; d < weight.ndim(); ++d) field *= weight.dim(d);
  return field;
}

}  // namespace

const NameTable<ConvInit>& names_of(ConvInit) {
  static const NameTable<ConvInit> table{{ConvInit::pytorch_default, "pytorch_default"},
                                         {ConvInit::torchvision, "torchvision"},
                                         {ConvInit::trunc_normal, "trunc_normal"},
                                         {ConvInit::torchvision_mobilenet, "torchvision_mobilenet"}};
  return table;
}

const std::vector<std::string>& conv_init_names() {
  static const std::vector<std::string> names = names_of(ConvInit{}).names();
  return names;
}

ConvInit parse_conv_init(const std::string& name) {
  if (const auto init = find_named<ConvInit>(name)) return *init;
  throw Error("unknown initialisation '" + name + "' (expected one of " + text::join(conv_init_names()) + ")",
              ErrorKind::usage);
}

const std::string& conv_init_name(ConvInit init) { return name_of(init); }

RandomStream init_stream(const Tensor& param, uint64_t seed) { return RandomStream(seed, "init/" + param.name()); }

int64_t fan_in(const Tensor& weight) { return weight.dim(1) * receptive_field(weight, "fan_in"); }
int64_t fan_out(const Tensor& weight) { return weight.dim(0) * receptive_field(weight, "fan_out"); }

void constant_(Tensor& t, float value) {
  checked_values(t, "constant_");
  t.fill_(value);
}

void uniform_(Tensor& t, double low, double high, const RandomStream& rng) {
  SUGAR_CHECK(low <= high, "init::uniform_: low ", low, " exceeds high ", high);
  float* v = checked_values(t, "uniform_");
  const int64_t n = t.numel();
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(low + (high - low) * rng.uniform_double(i));
}

void normal_(Tensor& t, double mean, double std, const RandomStream& rng) {
  SUGAR_CHECK(std >= 0, "init::normal_: std must be >= 0, got ", std);
  float* v = checked_values(t, "normal_");
  const int64_t n = t.numel();
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(mean + std * rng.normal(i));
}

void trunc_normal_(Tensor& t, double mean, double std, double a, double b, const RandomStream& rng) {
  SUGAR_CHECK(std > 0 && a < b, "init::trunc_normal_: needs std > 0 and a < b, got std ", std, ", [", a, ", ", b, "]");
  // The mass inside [a, b] bounds the expected tries; a tenth keeps them below 10 on average.
  const double mass = 0.5 * (std::erf((b - mean) / (std * std::sqrt(2.0))) - std::erf((a - mean) / (std * std::sqrt(2.0))));
  SUGAR_CHECK(mass >= 0.1, "init::trunc_normal_: [", a, ", ", b, "] holds only ", mass, " of N(", mean, ", ", std,
              "^2); expected at least 0.1");
  float* v = checked_values(t, "trunc_normal_");
  const int64_t n = t.numel();
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    double value = mean + std * rng.normal(static_cast<uint64_t>(i));
    for (uint64_t k = 1; value < a || value > b; ++k) value = mean + std * rng.normal(static_cast<uint64_t>(i) + k * n);
    v[i] = static_cast<float>(value);
  }
}

void kaiming_normal_fan_out_relu_(Tensor& weight, const RandomStream& rng) {
  const double gain = std::sqrt(2.0);  // calculate_gain('relu')
  normal_(weight, 0.0, gain / std::sqrt(static_cast<double>(fan_out(weight))), rng);
}

void kaiming_uniform_default_(Tensor& weight, const RandomStream& rng) {
  // gain = sqrt(2 / (1 + a^2)) with a = sqrt(5); bound = sqrt(3) * gain / sqrt(fan_in) = 1 / sqrt(fan_in).
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
  uniform_(weight, -bound, bound, rng);
}

void uniform_default_bias_(Tensor& bias, const Tensor& weight, const RandomStream& rng) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
  uniform_(bias, -bound, bound, rng);
}

}  // namespace sugar::nn::init
