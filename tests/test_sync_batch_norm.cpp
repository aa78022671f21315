// Synchronised batch-norm (train.sync_bn, ops::BatchNormOptions::sync): ranks that each hold part of a
// batch must compute what one process computes with the whole batch: the same outputs, the same
// input gradients, parameter gradients that add up to the whole batch's, and the same running
// statistics. Ranks are threads of an in-process communicator group (dist::make_thread_group).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "support/gradcheck.hpp"
#include "support/thread_ranks.hpp"

using namespace sugar;

namespace {

constexpr int64_t kChannels = 5, kHeight = 3, kWidth = 4;

struct Result {
  std::vector<float> y, dx, dweight, dbias, running_mean, running_var;
};

// Samples [first, first + count) of x (plain NCHW values of `total` samples) as a tensor.
Tensor samples(const std::vector<float>& x, int64_t first, int64_t count, bool blocked) {
  const int64_t per_sample = kChannels * kHeight * kWidth;
  const Shape shape{count, kChannels, kHeight, kWidth};
  Tensor t = Tensor::from_vector(shape, std::vector<float>(x.begin() + first * per_sample,
                                                           x.begin() + (first + count) * per_sample));
  if (blocked) t = t.to_desc(testkit::blocked16(shape));
  t.set_requires_grad(true);
  return t;
}

// One rank's (or the single process's) training forward and backward on samples [first, first+count),
// with upstream gradient `g` (the same slice of it).
Result run_part(const std::vector<float>& x, const std::vector<float>& g, int64_t first, int64_t count, bool blocked,
                dist::Communicator* sync) {
  Tensor input = samples(x, first, count, blocked);
  Tensor weight = Tensor::from_vector({kChannels}, {0.5f, 1.5f, -0.7f, 2.0f, 1.0f}).set_requires_grad(true);
  Tensor bias = Tensor::from_vector({kChannels}, {0.1f, -0.2f, 0.3f, 0.0f, 1.0f}).set_requires_grad(true);
  Tensor running_mean = Tensor::from_vector({kChannels}, {0.f, 1.f, -1.f, 0.5f, 0.f});
  Tensor running_var = Tensor::from_vector({kChannels}, {1.f, 2.f, 0.5f, 1.f, 3.f});
  ops::BatchNormOptions options;
  options.sync = sync;
  const Tensor y = ops::batch_norm2d(input, weight, bias, running_mean, running_var, options);
  const Tensor seed = samples(g, first, count, blocked).detach().to_desc(y.desc());
  autograd::backward(y, seed);
  return {y.to_plain().to_vector(),   input.grad().to_plain().to_vector(), weight.grad().to_vector(),
          bias.grad().to_vector(),    running_mean.to_vector(),            running_var.to_vector()};
}

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, size_t offset, float tolerance,
                  const char* what) {
  for (size_t i = 0; i < actual.size(); ++i)
    ASSERT_NEAR(actual[i], expected[offset + i], tolerance) << what << " at " << offset + i;
}

void check_ranks_match_one_process(const std::vector<int64_t>& counts, bool blocked) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  const int64_t per_sample = kChannels * kHeight * kWidth;
  std::vector<float> x = testkit::random_tensor({total, kChannels, kHeight, kWidth}, 11, -1, 1).to_vector();
  for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] * (1.0f + static_cast<float>((i / 12) % kChannels)) + 3.0f;
  const std::vector<float> g = testkit::random_tensor({total, kChannels, kHeight, kWidth}, 12, -1, 1).to_vector();

  const Result whole = run_part(x, g, 0, total, blocked, nullptr);

  const int ranks = static_cast<int>(counts.size());
  std::vector<Result> parts(counts.size());
  testkit::run_ranks(ranks, [&](dist::Communicator& c) {
    int64_t first = 0;
    for (int r = 0; r < c.rank(); ++r) first += counts[r];
    parts[c.rank()] = run_part(x, g, first, counts[c.rank()], blocked, &c);
  });
  int64_t first = 0;

  std::vector<float> dweight_sum(kChannels, 0.f), dbias_sum(kChannels, 0.f);
  for (int r = 0; r < ranks; ++r) {
    const Result& p = parts[r];
    const size_t offset = static_cast<size_t>(first * per_sample);
    expect_close(p.y, whole.y, offset, 2e-5f, "y");
    expect_close(p.dx, whole.dx, offset, 2e-5f, "dx");
    expect_close(p.running_mean, whole.running_mean, 0, 1e-6f, "running_mean");
    expect_close(p.running_var, whole.running_var, 0, 1e-5f, "running_var");
    for (int64_t c = 0; c < kChannels; ++c) {
      dweight_sum[c] += p.dweight[c];
      dbias_sum[c] += p.dbias[c];
    }
    first += counts[r];
  }
  expect_close(dweight_sum, whole.dweight, 0, 1e-4f, "sum of weight gradients");
  expect_close(dbias_sum, whole.dbias, 0, 1e-4f, "sum of bias gradients");
  // Not a vacuous comparison: without synchronisation the first rank's output differs.
  const Result alone = run_part(x, g, 0, counts[0], blocked, nullptr);
  float largest = 0;
  for (size_t i = 0; i < alone.y.size(); ++i) largest = std::max(largest, std::abs(alone.y[i] - whole.y[i]));
  EXPECT_GT(largest, 0.05f);
}

}  // namespace

TEST(SyncBatchNorm, TwoEqualRanksMatchTheWholeBatch) { check_ranks_match_one_process({4, 4}, false); }

TEST(SyncBatchNorm, UnevenRanksInBlockedLayoutMatchTheWholeBatch) { check_ranks_match_one_process({3, 5}, true); }

TEST(SyncBatchNorm, ThreeRanksMatchTheWholeBatch) { check_ranks_match_one_process({2, 3, 2}, false); }

TEST(SyncBatchNorm, ASingleRankGroupIsPlainBatchNorm) {
  const std::vector<float> x = testkit::random_tensor({4, kChannels, kHeight, kWidth}, 3, -2, 2).to_vector();
  const std::vector<float> g = testkit::random_tensor({4, kChannels, kHeight, kWidth}, 4, -1, 1).to_vector();
  const Result plain = run_part(x, g, 0, 4, false, nullptr);
  const Result single = run_part(x, g, 0, 4, false, &dist::single_process());
  EXPECT_EQ(single.y, plain.y);
  EXPECT_EQ(single.dx, plain.dx);
  EXPECT_EQ(single.running_var, plain.running_var);
}
