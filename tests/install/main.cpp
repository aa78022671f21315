// Uses the installed library: builds two tensors, adds them with autograd on, back-propagates, and
// prints the sum and a's gradient so the test can check concrete values.
#include <cstdio>

#include "sugar/autograd.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/runtime.hpp"
#include "sugar/tensor.hpp"

int main() {
  sugar::set_num_threads(1);
  sugar::Tensor a = sugar::Tensor::from_vector({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  a.set_requires_grad(true);
  sugar::Tensor b = sugar::Tensor::full({2, 2}, 0.5f);
  sugar::Tensor y = sugar::ops::add(a, b);
  sugar::autograd::backward(y);  // seed: ones, so dy/da is ones

  std::printf("sum:");
  for (float v : y.to_vector()) std::printf(" %g", v);
  std::printf("\ngrad:");
  for (float v : a.grad().to_vector()) std::printf(" %g", v);
  std::printf("\n");
  return 0;
}
