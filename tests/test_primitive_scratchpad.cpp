// A cached primitive (sugar/primitive_cache.hpp) is created once per process and run by whichever
// thread needs it: the ranks of a thread group (tests of data parallelism), a data loader's reorders
// next to the trainer. Each execution must therefore have a scratchpad of its own; with oneDNN's
// per-primitive one, two threads running the same batch-norm backward at once overwrote each other's
// partial sums and produced gradients off by up to 4.7 (the failure of SyncBatchNorm in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/runtime.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

const Shape kShape{2, 5, 3, 4};

struct Gradients {
  std::vector<float> dx, dweight;
};

// One training forward and backward of batch norm on input `seed`'s values, upstream gradient ones.
Gradients batch_norm_gradients(int seed) {
  Tensor x = testkit::random_tensor(kShape, static_cast<uint64_t>(seed), -2, 2).set_requires_grad(true);
  Tensor weight = Tensor::from_vector({5}, {0.5f, 1.5f, -0.7f, 2.0f, 1.0f}).set_requires_grad(true);
  Tensor bias = Tensor::zeros({5}).set_requires_grad(true);
  Tensor running_mean = Tensor::zeros({5}), running_var = Tensor::full({5}, 1.0f);
  const Tensor y = ops::batch_norm2d(x, weight, bias, running_mean, running_var, ops::BatchNormOptions{});
  autograd::backward(y, testkit::random_tensor(kShape, static_cast<uint64_t>(seed) + 100, -1, 1));
  return {x.grad().to_vector(), weight.grad().to_vector()};
}

float largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  return largest;
}

}  // namespace

TEST(PrimitiveScratchpad, ThreadsRunningTheSamePrimitiveAtOnceGetTheirOwnResults) {
  // Two OpenMP threads per caller: oneDNN's backward then keeps per-thread partial sums in its
  // scratchpad, which is what two callers sharing one scratchpad overwrote.
  set_num_threads(2);
  const Gradients expected[2] = {batch_norm_gradients(1), batch_norm_gradients(2)};
  constexpr int kRounds = 300;
  std::atomic<int> wrong_rounds{0};
  std::atomic<float> worst{0};
  auto caller = [&](int which) {
    set_num_threads(2);  // OpenMP's thread count is per calling thread
    for (int round = 0; round < kRounds; ++round) {
      const Gradients got = batch_norm_gradients(which + 1);
      const float off = std::max(largest_difference(got.dx, expected[which].dx),
                                 largest_difference(got.dweight, expected[which].dweight));
      if (off > 1e-5f) {
        ++wrong_rounds;
        float seen = worst.load();
        while (off > seen && !worst.compare_exchange_weak(seen, off)) {
        }
      }
    }
  };
  std::thread first(caller, 0), second(caller, 1);
  first.join();
  second.join();
  EXPECT_EQ(wrong_rounds.load(), 0) << "of " << 2 * kRounds << " rounds gave other gradients, off by up to "
                                    << worst.load();
}

TEST(PrimitiveScratchpad, APrimitiveDescribedWithoutTheUserScratchpadIsRefused) {
  const memory::desc data({2, 5, 3, 4}, memory::data_type::f32, memory::format_tag::nchw);
  using Pd = dnnl::batch_normalization_forward::primitive_desc;
  try {
    cached_primitive<Pd>(CacheKey("scratchpad_test_library_mode") << data, [&] {
      return Pd(dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, data, 1e-5f,
                                                        dnnl::normalization_flags::none),
                cpu_engine());
    });
    FAIL() << "a primitive with oneDNN's own scratchpad was cached";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("user_scratchpad_attr"), std::string::npos) << e.what();
  }
}
