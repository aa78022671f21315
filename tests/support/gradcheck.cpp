#include "support/gradcheck.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "sugar/autograd.hpp"
#include "sugar/random.hpp"

namespace sugar::testkit {

Tensor random_tensor_in(const memory::desc& layout, uint64_t seed, float lo, float hi, bool requires_grad) {
  const Shape shape = layout.dims();
  Tensor plain = Tensor::zeros(shape);
  RandomStream rng(seed, "test");
  float* p = plain.data<float>();
  for (int64_t i = 0; i < plain.numel(); ++i) p[i] = lo + (hi - lo) * rng.uniform(i);
  Tensor out = plain.to_desc(layout);
  if (out.same(plain)) out = plain.clone();
  out.set_requires_grad(requires_grad);
  return out;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo, float hi, bool requires_grad) {
  return random_tensor_in(plain_desc(shape), seed, lo, hi, requires_grad);
}

memory::desc blocked16(const Shape& shape) { return memory::desc(shape, memory::data_type::f32, memory::format_tag::nChw16c); }

bool padding_is_zero(const Tensor& t) {
  Tensor round_trip = t.to_plain().to_desc(t.desc());
  if (round_trip.same(t)) return true;  // plain: no padding
  return std::memcmp(round_trip.raw_data(), t.raw_data(), t.bytes()) == 0;
}

std::vector<float> loss_weights(const Shape& shape, uint64_t seed) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  RandomStream rng(seed, "gradcheck-weights");
  std::vector<float> r(n);
  for (int64_t i = 0; i < n; ++i) r[i] = 0.5f + rng.uniform(i);  // in [0.5, 1.5): no cancellation
  return r;
}

double weighted_sum(const Tensor& y, const std::vector<float>& r) {
  const std::vector<float> v = y.to_vector();
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) sum += static_cast<double>(v[i]) * r[i];
  return sum;
}

int check_gradients(const OpUnderTest& op, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  // Analytic gradients.
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) const_cast<Tensor&>(t).zero_grad();
  Tensor y = op(inputs);
  const std::vector<float> r = loss_weights(y.shape(), options.seed);
  autograd::backward(y, Tensor::from_vector(y.shape(), r).to_desc(y.desc()));

  int mismatches = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    EXPECT_TRUE(x.grad().defined()) << "input " << k << " received no gradient";
    if (!x.grad().defined()) {
      ++mismatches;
      continue;
    }
    EXPECT_TRUE(padding_is_zero(x.grad())) << "padding lanes of input " << k << "'s gradient are not zero";
    const std::vector<float> analytic = x.grad().to_vector();
    std::vector<float> values = x.to_vector();

    autograd::NoGradGuard no_grad;
    auto loss_with = [&](size_t j, float value) {
      const float saved = values[j];
      values[j] = value;
      std::vector<Tensor> perturbed = inputs;
      perturbed[k] = Tensor::from_vector(x.shape(), values).to_desc(x.desc());
      values[j] = saved;
      return weighted_sum(op(perturbed), r);
    };
    for (size_t j = 0; j < values.size(); ++j) {
      const double h = options.step;
      const double numeric = (loss_with(j, values[j] + h) - loss_with(j, values[j] - h)) / (2 * h);
      const double diff = std::abs(numeric - analytic[j]);
      if (diff > options.atol + options.rtol * std::abs(numeric)) {
        if (++mismatches <= 10)
          ADD_FAILURE() << "input " << k << " (" << x.name() << ") element " << j << ": analytic " << analytic[j]
                        << " vs numeric " << numeric;
      }
    }
  }
  return mismatches;
}

}  // namespace sugar::testkit
