// sugar::bench on tiny configurations: the JSON carries every key with values consistent with each
// other (median, breakdown adding up to the step time, op counts of the model), inference runs no
// backward, bad options are usage errors. Never a speed assertion.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "sugar/bench/bench.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/error.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"

using namespace sugar;
using nlohmann::json;

namespace {

bench::BenchOptions tiny(const std::string& model, int64_t batch) {
  bench::BenchOptions o;
  o.config.model.name = model;
  o.config.train.batch_size = batch;
  o.warmup = 1;
  o.iters = 3;
  return o;
}

double breakdown_calls(const json& j, const char* kind) { return j["breakdown"][kind]["calls"].get<double>(); }

TEST(Bench, TrainingJsonHasEveryKeyWithConsistentValues) {
  const bench::BenchResult result = bench::run_benchmark(tiny("vgg11", 4));
  const json j = json::parse(bench::to_json_text(result));

  EXPECT_EQ(j["model"], "vgg11");
  EXPECT_EQ(j["activation"], "relu");
  EXPECT_EQ(j["dtype"], "f32");
  EXPECT_EQ(j["phase"], "train");
  EXPECT_EQ(j["batch"], 4);
  EXPECT_EQ(j["classes"], 10);
  EXPECT_GE(j["threads"].get<int>(), 1);
  EXPECT_EQ(j["warmup"], 1);
  EXPECT_EQ(j["iters"], 3);
  EXPECT_EQ(j["parameters"], 9231114);  // kuangliu's VGG-11 for 10 classes
  EXPECT_EQ(j["framework"].get<std::string>().rfind("sugar ", 0), 0u);

  // Three timed steps: the median of batch / step time is batch / the median step time.
  ASSERT_EQ(j["steps_ms"].size(), 3u);
  std::vector<double> steps = j["steps_ms"].get<std::vector<double>>();
  const double median_ms = bench::median(steps);
  EXPECT_GT(median_ms, 0);
  EXPECT_DOUBLE_EQ(j["step_ms"]["median"].get<double>(), median_ms);
  EXPECT_NEAR(j["imgs_per_sec"].get<double>(), 4 / (median_ms / 1e3), 1e-9 * j["imgs_per_sec"].get<double>());
  EXPECT_NEAR(j["step_ms"]["mean"].get<double>(), (steps[0] + steps[1] + steps[2]) / 3, 1e-9);
  EXPECT_LE(j["step_ms"]["min"].get<double>(), median_ms);
  EXPECT_GE(j["step_ms"]["max"].get<double>(), median_ms);

  // Every profiled kind plus "other"; none negative (the profiled time fits inside the steps), and
  // together they are the mean step.
  const json& breakdown = j["breakdown"];
  EXPECT_EQ(breakdown.size(), profiler::kOpKinds + 1);
  double fractions = 0, ms = 0;
  for (const auto& [kind, share] : breakdown.items()) {
    EXPECT_GE(share["fraction"].get<double>(), 0) << kind;
    EXPECT_GE(share["ms"].get<double>(), 0) << kind;
    fractions += share["fraction"].get<double>();
    ms += share["ms"].get<double>();
  }
  EXPECT_NEAR(fractions, 1.0, 1e-9);
  EXPECT_NEAR(ms, j["step_ms"]["mean"].get<double>(), 1e-6 * ms);
  // VGG-11: 8 conv-bn-relu blocks, 5 max-pools and the final 1x1 average pool, one classifier. The
  // first conv's input needs no gradient, so backward-data runs 7 times.
  EXPECT_EQ(breakdown_calls(j, "conv_forward"), 8);
  EXPECT_EQ(breakdown_calls(j, "conv_backward_data"), 7);
  EXPECT_EQ(breakdown_calls(j, "conv_backward_weights"), 8);
  EXPECT_EQ(breakdown_calls(j, "batch_norm_forward"), 8);
  EXPECT_EQ(breakdown_calls(j, "batch_norm_backward"), 8);
  // Each ReLU runs inside its batch norm in training (nn/batch_norm_relu.hpp).
  EXPECT_EQ(breakdown_calls(j, "activation_forward"), 0);
  EXPECT_EQ(breakdown_calls(j, "activation_backward"), 0);
  EXPECT_EQ(breakdown_calls(j, "pooling_forward"), 6);
  EXPECT_EQ(breakdown_calls(j, "pooling_backward"), 6);
  EXPECT_EQ(breakdown_calls(j, "linear"), 2);
  EXPECT_EQ(breakdown_calls(j, "loss"), 2);
  EXPECT_EQ(breakdown_calls(j, "optimizer"), 1);
  EXPECT_EQ(breakdown_calls(j, "add"), 0);  // no residual connections
  // A block's batch-norm + ReLU output is recomputed in the backward where a convolution follows
  // directly, for its backward-weights (3 blocks; the other 5 end in a max pooling, whose backward reads
  // only its workspace; WithoutRecomputation... below counts them run apart).
  EXPECT_EQ(j["recompute"], true);
  EXPECT_EQ(breakdown_calls(j, "recompute"), 3);
  EXPECT_GT(j["breakdown"]["conv_forward"]["ms"].get<double>(), 0);

  EXPECT_GT(j["peak_rss_mib"].get<double>(), 0);
  // During a timed step the weights, their gradients (kept from the step before) and SGD's momentum
  // are all alive: at least three copies of the parameters; the tensors are part of the resident set.
  const double parameter_mib = static_cast<double>(result.parameters) * 4.0 / (1024.0 * 1024.0);
  EXPECT_GE(j["peak_tensor_mib"].get<double>(), 3 * parameter_mib);
  EXPECT_LE(j["peak_tensor_mib"].get<double>(), j["peak_rss_mib"].get<double>());
  EXPECT_FALSE(j["onednn"]["version"].get<std::string>().empty());
  EXPECT_FALSE(j["onednn"]["isa"].get<std::string>().empty());
  EXPECT_TRUE(j["onednn"]["implementations"].contains("conv2d_forward_training"));

  const std::string table = bench::to_table_text(result);
  for (const char* word : {"vgg11", "img/s", "conv_backward_weights", "other", "peak RSS", "conv2d_forward_training"})
    EXPECT_NE(table.find(word), std::string::npos) << word << " missing from:\n" << table;
  EXPECT_EQ(table.find("\nadd "), std::string::npos) << "kinds the model never runs are left out:\n" << table;
  EXPECT_FALSE(profiler::enabled()) << "the benchmark restores the profiler's state";
}

TEST(Bench, WithoutRecomputationNothingIsRecomputedAndMoreIsKept) {
  bench::BenchOptions kept = tiny("vgg11", 8);
  kept.config.train.recompute = config::Recompute::off;
  const json without = json::parse(bench::to_json_text(bench::run_benchmark(kept)));
  const json with = json::parse(bench::to_json_text(bench::run_benchmark(tiny("vgg11", 8))));
  EXPECT_EQ(without["recompute"], false);
  EXPECT_EQ(breakdown_calls(without, "recompute"), 0);
  // VGG-11 has 8 conv -> batch norm -> ReLU blocks; 5 end in a max pooling, whose backward reads only
  // its workspace. Run apart, each block's ReLU backward reads its output: 8 recomputations per step.
  // Fused (the default), the batch norm's backward reads the ReLU's mask instead, and only the 3
  // outputs that a convolution's backward-weights reads are recomputed.
  EXPECT_EQ(breakdown_calls(with, "recompute"), 3);
  bench::BenchOptions apart = tiny("vgg11", 8);
  apart.fusion = false;
  EXPECT_EQ(breakdown_calls(json::parse(bench::to_json_text(bench::run_benchmark(apart))), "recompute"), 8);
  // The same steps keep one activation-sized tensor less per block from the forward to the backward.
  EXPECT_LT(with["peak_tensor_mib"].get<double>(), without["peak_tensor_mib"].get<double>());
  EXPECT_TRUE(autograd::recompute_enabled()) << "the benchmark restores the recomputation switch";
}

TEST(Bench, ResNetInferenceRunsNoBackwardAndUsesTheResidualAdds) {
  bench::BenchOptions o = tiny("resnet18", 2);
  o.phase = bench::Phase::infer;
  o.iters = 1;
  int64_t steps_seen = 0;
  const bench::BenchResult result = bench::run_benchmark(o, [&](int64_t index, int64_t total, bool warmup) {
    EXPECT_EQ(index, steps_seen);
    EXPECT_EQ(total, 2);
    EXPECT_EQ(warmup, index == 0);
    ++steps_seen;
  });
  EXPECT_EQ(steps_seen, 2);
  const json j = json::parse(bench::to_json_text(result));
  EXPECT_EQ(j["phase"], "infer");
  EXPECT_EQ(j["parameters"], 11173962);
  EXPECT_EQ(breakdown_calls(j, "conv_forward"), 20);  // 17 3x3 convs and 3 1x1 shortcut convs
  EXPECT_EQ(breakdown_calls(j, "add"), 8);            // one per BasicBlock
  // Fused (the default): every batch norm folded into its convolution, the 9 ReLUs that follow a
  // batch norm run as the convolution's post-op; the 8 after the residual adds run by themselves.
  EXPECT_EQ(j["fusion"], true);
  EXPECT_EQ(breakdown_calls(j, "batch_norm_forward"), 0);
  EXPECT_EQ(breakdown_calls(j, "activation_forward"), 8);
  for (const char* kind : {"conv_backward_data", "conv_backward_weights", "batch_norm_backward",
                           "activation_backward", "pooling_backward", "loss", "optimizer"})
    EXPECT_EQ(breakdown_calls(j, kind), 0) << kind;
  EXPECT_GT(j["imgs_per_sec"].get<double>(), 0);

  o.fusion = false;  // --no-fusion: every layer by itself
  const json unfused = json::parse(bench::to_json_text(bench::run_benchmark(o)));
  EXPECT_EQ(unfused["fusion"], false);
  EXPECT_EQ(breakdown_calls(unfused, "conv_forward"), 20);
  EXPECT_EQ(breakdown_calls(unfused, "batch_norm_forward"), 20);
  EXPECT_EQ(breakdown_calls(unfused, "activation_forward"), 17);
  EXPECT_TRUE(nn::inference_fusion_enabled()) << "the benchmark restores the fusion switch";
}

TEST(Bench, MedianOfOddAndEvenCounts) {
  EXPECT_EQ(bench::median({3, 1, 2}), 2);
  EXPECT_EQ(bench::median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(bench::median({7}), 7);
  EXPECT_THROW(bench::median({}), Error);
}

void expect_usage_error(const bench::BenchOptions& o, const std::string& words) {
  try {
    bench::validate(o);
    ADD_FAILURE() << "no error, expected one about " << words;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(Bench, BadOptionsAreUsageErrorsNamingTheOption) {
  bench::BenchOptions o;
  o.iters = 0;
  expect_usage_error(o, "--iters must be in [1, 10000], got 0");
  o = {};
  o.warmup = -1;
  expect_usage_error(o, "--warmup");
  o = {};
  o.config.train.batch_size = 0;
  expect_usage_error(o, "train.batch_size (--batch) must be in [1, 4096]");
  o = {};
  o.config.train.batch_size = 4097;
  expect_usage_error(o, "train.batch_size (--batch) must be in [1, 4096], got 4097");
  o = {};
  o.iters = 10'001;
  expect_usage_error(o, "--iters must be in [1, 10000], got 10001");
  o = {};
  o.classes = 100'001;
  expect_usage_error(o, "--classes must be in [2, 100000], got 100001");
  o = {};
  o.config.train.threads = 4097;
  expect_usage_error(o, "train.threads (--threads) must be in [0, 4096] (0: all cores), got 4097");
  o = {};
  o.config.train.batch_size = 1;
  expect_usage_error(o, "at least 2 for --phase train");
  o.phase = bench::Phase::infer;
  EXPECT_NO_THROW(bench::validate(o));
  o = {};
  o.classes = 1;
  expect_usage_error(o, "--classes");
  o = {};
  o.config.train.threads = -2;
  expect_usage_error(o, "--threads");
  o = tiny("resnet99", 2);
  try {
    bench::run_benchmark(o);
    ADD_FAILURE() << "an unknown model ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("resnet99"), std::string::npos) << e.what();
  }
}

}  // namespace
