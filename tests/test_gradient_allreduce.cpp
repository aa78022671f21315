// GradientAllReducer on a 2-rank thread group (one thread per rank; autograd tapes are per thread):
// the averaged gradient of shards equals one model's gradient on the whole batch, for even and uneven
// shards; a parameter without a gradient contributes zeros; buckets go out in bucket order, while
// backward still runs; one rank installs nothing; bad input is one clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/dist/communicator.hpp"
#include "support/thread_ranks.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/nn.hpp"
#include "sugar/ops/add.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/ops/shape.hpp"
#include "sugar/train/gradient_allreduce.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

constexpr uint64_t init_seed = 11;
constexpr int batch = 8;
// Parameters in registration order: conv.weight 108 floats, conv.bias 4, fc.weight 320, fc.bias 5,
// extra.weight 240, extra.bias 5. With 512-byte buckets, filled in reverse order and closed once they
// reach 512 bytes: {extra.bias, extra.weight} 980 B, {fc.bias, fc.weight} 1300 B, {conv.bias,
// conv.weight} 448 B.
constexpr int64_t bucket_bytes = 512;
const std::vector<std::vector<size_t>> expected_buckets = {{5, 4}, {3, 2}, {1, 0}};
const std::vector<int64_t> expected_bucket_floats = {245, 325, 112};

// conv -> relu -> fc, plus an `extra` linear branch on the raw input added to the logits. The branch
// can be left out (its parameters then get no gradient) or computed first (its parameters are then
// the last whose gradient is final, although they are in the first bucket).
class Net : public nn::Module {
 public:
  Net() {
    conv = register_module("conv", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
    fc = register_module("fc", std::make_shared<nn::Linear>(4 * 4 * 4, 5));
    extra = register_module("extra", std::make_shared<nn::Linear>(3 * 4 * 4, 5));
  }
  Tensor forward(const Tensor& x) override {
    Tensor e;
    if (use_extra && extra_first) e = extra->forward(ops::flatten(x));
    Tensor y = fc->forward(ops::flatten(ops::relu(conv->forward(x))));
    if (use_extra && !extra_first) e = extra->forward(ops::flatten(x));
    return e.defined() ? ops::add(y, e) : y;
  }
  std::string type_name() const override { return "Net"; }

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc, extra;
  bool use_extra = true;
  bool extra_first = false;
};

std::shared_ptr<Net> make_net() {
  auto net = std::make_shared<Net>();
  nn::initialize(*net, init_seed);
  return net;
}

const std::vector<float>& batch_values() {
  static const std::vector<float> values = testkit::random_tensor({batch, 3, 4, 4}, 3).to_vector();
  return values;
}
const std::vector<int32_t> batch_labels = {0, 1, 2, 3, 4, 0, 1, 2};

// Forward and backward of the mean loss over samples [begin, end) of the fixed batch.
void local_backward(Net& net, int begin, int end) {
  for (auto& [name, p] : net.named_parameters()) p.zero_grad();
  const int64_t per_sample = 3 * 4 * 4;
  const std::vector<float> x(batch_values().begin() + begin * per_sample, batch_values().begin() + end * per_sample);
  const std::vector<int32_t> labels(batch_labels.begin() + begin, batch_labels.begin() + end);
  const Tensor loss = ops::cross_entropy(net(Tensor::from_vector({end - begin, 3, 4, 4}, x)), labels);
  autograd::backward(loss);
}

// Every parameter's gradient in registration order; zeros where there is none.
using Gradients = std::vector<std::vector<float>>;
Gradients gradients_of(const Net& net) {
  Gradients out;
  for (const auto& [name, p] : net.named_parameters())
    out.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<float>(p.numel(), 0.0f));
  return out;
}

Gradients weighted_sum(const Gradients& a, double wa, const Gradients& b, double wb) {
  Gradients out = a;
  for (size_t t = 0; t < out.size(); ++t)
    for (size_t i = 0; i < out[t].size(); ++i) out[t][i] = float(wa * a[t][i] + wb * b[t][i]);
  return out;
}

// |got - want| <= 1e-6 * max|want| per tensor (f32 sums in another order differ in the last bits).
void expect_close(const Gradients& got, const Gradients& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t t = 0; t < got.size(); ++t) {
    ASSERT_EQ(got[t].size(), want[t].size());
    float scale = 0, worst = 0;
    for (size_t i = 0; i < got[t].size(); ++i) {
      scale = std::max(scale, std::fabs(want[t][i]));
      worst = std::max(worst, std::fabs(got[t][i] - want[t][i]));
    }
    EXPECT_GT(scale, 0.0f) << what << ": parameter " << t << " has an all-zero reference";
    EXPECT_LE(worst, 1e-6f * scale) << what << ": parameter " << t << " differs by " << worst << " (scale " << scale
                                    << ")";
  }
}

struct Shard {
  int begin, end;
  double weight;
  bool use_extra = true;
};

struct RankResult {
  Gradients gradients;
  train::GradientAllReducer::Stats stats;
  std::vector<std::vector<size_t>> buckets;
};

// Two ranks, each training its shard with a reducer, for `steps` identical steps.
std::vector<RankResult> data_parallel(const std::vector<Shard>& shards, int steps = 1) {
  std::vector<RankResult> results(shards.size());
  testkit::run_ranks(static_cast<int>(shards.size()), [&](dist::Communicator& c) {
    const Shard& shard = shards[c.rank()];
    auto net = make_net();
    net->use_extra = shard.use_extra;
    train::GradientAllReducer reducer(c, net->named_parameters(), bucket_bytes);
    for (int s = 0; s < steps; ++s) {
      reducer.begin_step(shard.weight);
      local_backward(*net, shard.begin, shard.end);
      reducer.finish_step();
    }
    results[c.rank()] = {gradients_of(*net), reducer.stats(), reducer.buckets()};
  });
  return results;
}

Gradients whole_batch_gradients(bool use_extra = true) {
  auto net = make_net();
  net->use_extra = use_extra;
  local_backward(*net, 0, batch);
  return gradients_of(*net);
}

}  // namespace

TEST(GradientAllReducer, EvenShardsGiveTheWholeBatchGradient) {
  const std::vector<RankResult> ranks = data_parallel({{0, 4, 0.5}, {4, 8, 0.5}}, 2);
  const Gradients whole = whole_batch_gradients();
  for (int r = 0; r < 2; ++r) {
    expect_close(ranks[r].gradients, whole, "rank " + std::to_string(r));
    EXPECT_EQ(ranks[r].buckets, expected_buckets);
    EXPECT_EQ(ranks[r].stats.steps, 2);
    EXPECT_EQ(ranks[r].stats.buckets_reduced, 6);
    EXPECT_EQ(ranks[r].stats.bytes_reduced, 2 * (245 + 325 + 112) * 4);
    EXPECT_GE(ranks[r].stats.wait_seconds, 0.0);
  }
  EXPECT_EQ(ranks[0].gradients, ranks[1].gradients);  // bit-identical: every rank steps alike
}

TEST(GradientAllReducer, UnevenShardsWeightedThreeQuartersAndOneQuarter) {
  const std::vector<RankResult> ranks = data_parallel({{0, 6, 0.75}, {6, 8, 0.25}});
  const Gradients whole = whole_batch_gradients();
  expect_close(ranks[0].gradients, whole, "rank 0");
  EXPECT_EQ(ranks[0].gradients, ranks[1].gradients);
}

TEST(GradientAllReducer, AParameterWithoutAGradientContributesZeros) {
  // Rank 1 leaves the extra branch out: extra.* get 0.5 * rank 0's gradient and nothing from rank 1.
  const std::vector<RankResult> ranks = data_parallel({{0, 4, 0.5, true}, {4, 8, 0.5, false}});
  auto first = make_net();
  local_backward(*first, 0, 4);
  auto second = make_net();
  second->use_extra = false;
  local_backward(*second, 4, 8);
  const Gradients expected = weighted_sum(gradients_of(*first), 0.5, gradients_of(*second), 0.5);
  expect_close(ranks[0].gradients, expected, "rank 0");
  EXPECT_EQ(ranks[0].gradients, ranks[1].gradients);
  EXPECT_EQ(ranks[1].stats.buckets_reduced, 3);
}

TEST(GradientAllReducer, AParameterNoRankUsesGetsAZeroGradient) {
  const std::vector<RankResult> ranks = data_parallel({{0, 4, 0.5, false}, {4, 8, 0.5, false}});
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(ranks[r].gradients[4], std::vector<float>(240, 0.0f)) << "rank " << r;  // extra.weight
    EXPECT_EQ(ranks[r].gradients[5], std::vector<float>(5, 0.0f)) << "rank " << r;    // extra.bias
  }
  Gradients whole = whole_batch_gradients(false);
  Gradients got = ranks[0].gradients;
  got.resize(4), whole.resize(4);  // the used parameters still average to the whole batch's gradient
  expect_close(got, whole, "rank 0");
}

namespace {

// Forwards everything to a thread-group member and notes each bucket submission: its size and what
// `probe` says at that moment.
class RecordingCommunicator final : public dist::Communicator {
 public:
  RecordingCommunicator(dist::Communicator& inner, std::function<bool()> probe) : inner_(inner), probe_(probe) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string description() const override { return inner_.description(); }
  dist::Request allreduce_sum_async(float* data, int64_t count) override {
    log.push_back({count, probe_()});
    return inner_.allreduce_sum_async(data, count);
  }
  void allreduce_sum(double* data, int64_t count) override { inner_.allreduce_sum(data, count); }
  void allreduce_max(int64_t* data, int64_t count) override { inner_.allreduce_max(data, count); }
  void allgather(const double* send, int64_t count, double* receive) override {
    inner_.allgather(send, count, receive);
  }
  void broadcast(float* data, int64_t count, int root) override { inner_.broadcast(data, count, root); }
  void barrier() override { inner_.barrier(); }
  [[noreturn]] void abort(int exit_code) override {
    inner_.abort(exit_code);
    std::_Exit(exit_code);  // not reached; the call through the base is not known to be noreturn
  }

  std::vector<std::pair<int64_t, bool>> log;

 private:
  dist::Communicator& inner_;
  std::function<bool()> probe_;
};

// Each rank's submissions: (bucket floats, did conv.weight have its gradient yet).
std::vector<std::vector<std::pair<int64_t, bool>>> submissions(bool extra_first, Gradients* rank0_gradients) {
  std::vector<std::vector<std::pair<int64_t, bool>>> logs(2);
  testkit::run_ranks(2, [&](dist::Communicator& c) {
    auto net = make_net();
    net->extra_first = extra_first;
    const Tensor conv_weight = net->conv->weight();
    RecordingCommunicator recorder(c, [&] { return conv_weight.grad().defined(); });
    train::GradientAllReducer reducer(recorder, net->named_parameters(), bucket_bytes);
    reducer.begin_step(0.5);
    local_backward(*net, 4 * c.rank(), 4 * c.rank() + 4);
    const size_t before_finish = recorder.log.size();
    reducer.finish_step();
    EXPECT_EQ(before_finish, 3u) << "all buckets complete during backward and go out before finish_step";
    logs[c.rank()] = recorder.log;
    if (c.rank() == 0) *rank0_gradients = gradients_of(*net);
  });
  return logs;
}

}  // namespace

TEST(GradientAllReducer, BucketsGoOutWhileBackwardStillRuns) {
  // Backward finishes extra, then fc, then conv: the first two buckets leave before conv's gradient
  // exists, which is the overlap of communication with the rest of backward.
  Gradients gradients;
  const auto logs = submissions(false, &gradients);
  const std::vector<std::pair<int64_t, bool>> expected = {{245, false}, {325, false}, {112, true}};
  EXPECT_EQ(logs[0], expected);
  EXPECT_EQ(logs[1], expected);
  expect_close(gradients, whole_batch_gradients(), "rank 0");
}

TEST(GradientAllReducer, ABucketCompleteEarlyWaitsForTheEarlierOnes) {
  // With the extra branch computed first, backward finishes fc (bucket 1) and conv (bucket 2) before
  // extra (bucket 0): all three go out once extra is done, still in bucket order.
  Gradients gradients;
  const auto logs = submissions(true, &gradients);
  const std::vector<std::pair<int64_t, bool>> expected = {{245, true}, {325, true}, {112, true}};
  EXPECT_EQ(logs[0], expected);
  EXPECT_EQ(logs[1], expected);
  auto reference = make_net();
  reference->extra_first = true;
  local_backward(*reference, 0, batch);
  expect_close(gradients, gradients_of(*reference), "rank 0");
}

TEST(GradientAllReducer, GradientsAreNewTensorsAndTheLocalOnesAreLeftAlone) {
  std::vector<float> local_before(2), local_after(2), averaged(2);
  std::vector<int> same_tensor(2), same_desc(2);
  testkit::run_ranks(2, [&](dist::Communicator& c) {
    auto net = make_net();
    train::GradientAllReducer reducer(c, net->named_parameters(), bucket_bytes);
    reducer.begin_step(0.5);
    local_backward(*net, 4 * c.rank(), 4 * c.rank() + 4);
    const Tensor local = net->fc->bias().grad();
    local_before[c.rank()] = local.to_vector()[0];
    reducer.finish_step();
    local_after[c.rank()] = local.to_vector()[0];
    averaged[c.rank()] = net->fc->bias().grad().to_vector()[0];
    same_tensor[c.rank()] = net->fc->bias().grad().same(local);
    same_desc[c.rank()] = net->fc->bias().grad().desc() == net->fc->bias().desc();
  });
  EXPECT_EQ(local_after, local_before);
  EXPECT_FLOAT_EQ(averaged[0], 0.5f * (local_before[0] + local_before[1]));
  EXPECT_EQ(same_tensor, (std::vector<int>{0, 0}));
  EXPECT_EQ(same_desc, (std::vector<int>{1, 1}));
}

TEST(GradientAllReducer, OneRankInstallsNothingAndOnlyAppliesTheWeight) {
  auto net = make_net();
  train::GradientAllReducer reducer(dist::single_process(), net->named_parameters(), bucket_bytes);
  EXPECT_EQ(reducer.bucket_count(), 0);
  for (const auto& [name, p] : net->named_parameters()) EXPECT_FALSE(autograd_state(p)->grad_ready_hook) << name;

  reducer.begin_step(1.0);
  local_backward(*net, 0, batch);
  const Tensor before = net->fc->weight().grad();
  reducer.finish_step();
  EXPECT_TRUE(net->fc->weight().grad().same(before));  // untouched: nothing to do alone

  reducer.begin_step(0.5);
  local_backward(*net, 0, batch);
  const std::vector<float> full = net->fc->weight().grad().to_vector();
  reducer.finish_step();
  const std::vector<float> half = net->fc->weight().grad().to_vector();
  ASSERT_EQ(half.size(), full.size());
  for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(half[i], 0.5f * full[i]);
  EXPECT_EQ(reducer.stats().steps, 2);
  EXPECT_EQ(reducer.stats().bytes_reduced, 0);
}

TEST(GradientAllReducer, TheDestructorRemovesTheHooks) {
  auto group = dist::make_thread_group(2);
  auto net = make_net();
  {
    train::GradientAllReducer reducer(*group[0], net->named_parameters(), bucket_bytes);
    EXPECT_EQ(reducer.bucket_count(), 3);
    for (const auto& [name, p] : net->named_parameters()) EXPECT_TRUE(autograd_state(p)->grad_ready_hook) << name;
    try {
      train::GradientAllReducer second(*group[0], net->named_parameters(), bucket_bytes);
      FAIL() << "a second reducer on the same parameters was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'conv.weight' already has a grad-ready hook"), std::string::npos)
          << e.what();
    }
  }
  for (const auto& [name, p] : net->named_parameters()) EXPECT_FALSE(autograd_state(p)->grad_ready_hook) << name;
}

TEST(GradientAllReducer, BadInputIsOneClearError) {
  auto group = dist::make_thread_group(2);
  auto message = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto contains = [](const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; };

  Tensor bf16 = Tensor::zeros({4}, DType::bf16);
  bf16.set_requires_grad(true);
  EXPECT_PRED2(contains, message([&] {
                 train::GradientAllReducer r(*group[0], {{"w", bf16}}, 64);
               }),
               "parameter 'w' is bf16; gradients are all-reduced in f32");
  Tensor w = Tensor::zeros({4});
  w.set_requires_grad(true);
  EXPECT_PRED2(contains, message([&] {
                 train::GradientAllReducer r(*group[0], {{"a", w}, {"b", w}}, 64);
               }),
               "parameter 'b' is listed twice");
  EXPECT_PRED2(contains, message([&] { train::GradientAllReducer r(*group[0], {{"w", w}}, 0); }), "bucket_bytes 0");
  EXPECT_PRED2(contains, message([&] {
                 train::GradientAllReducer r(*group[0], {{"x", Tensor::zeros({2})}}, 64);
               }),
               "parameter 'x' is not a leaf tensor that requires a gradient");

  auto net = make_net();
  train::GradientAllReducer reducer(*group[0], net->named_parameters(), bucket_bytes);
  EXPECT_PRED2(contains, message([&] { reducer.finish_step(); }), "no step was begun");
  EXPECT_PRED2(contains, message([&] { reducer.begin_step(-0.5); }), "weight -0.5");
  EXPECT_PRED2(contains, message([&] { reducer.begin_step(std::nan("")); }), "weight nan");
  // A backward pass outside a step would leave this rank's buckets out of step with the others'.
  EXPECT_PRED2(contains, message([&] { local_backward(*net, 0, 4); }),
               "the gradient of 'extra.weight' became ready outside begin_step/finish_step");
  reducer.begin_step(0.5);
  EXPECT_PRED2(contains, message([&] { reducer.begin_step(0.5); }), "the previous step was not finished");
}
