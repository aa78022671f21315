// A batch norm and the ReLU after it fused in training (ops::BatchNormOptions::relu,
// nn/batch_norm_relu.hpp) against the two ops run in turn, which the batch-norm and ReLU tests check
// against closed forms and finite differences: the same values, gradients and running statistics bit
// for bit, in every layout and dtype, with recomputation on and off; the sites that must not fuse;
// the neuron statistics watched from the ReLU's output; and whole models after an SGD step.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "sugar/activations/apply.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/batch_norm_relu.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/fused_inference.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/ops/relu.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"
#include "sugar/train/neuron_stats.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

// Restores the process-wide switches a test changes.
struct SwitchesRestored {
  bool fusion = nn::training_fusion_enabled();
  bool recompute = autograd::recompute_enabled();
  ~SwitchesRestored() {
    nn::set_training_fusion(fusion);
    autograd::set_recompute_enabled(recompute);
  }
};

struct Layout {
  std::string name;
  std::function<memory::desc(const Shape&, DType)> of;
};

std::vector<Layout> layouts() {
  using tag = memory::format_tag;
  auto dims = [](const Shape& s) { return memory::dims(s.begin(), s.end()); };
  return {
      {"nchw", [=](const Shape& s, DType d) { return memory::desc(dims(s), to_dnnl(d), tag::nchw); }},
      {"nhwc", [=](const Shape& s, DType d) { return memory::desc(dims(s), to_dnnl(d), tag::nhwc); }},
      {"nChw16c", [=](const Shape& s, DType d) { return memory::desc(dims(s), to_dnnl(d), tag::nChw16c); }},
  };
}

// Everything a batch norm (+ ReLU) step produces.
struct StepResult {
  std::vector<float> y, dx, dweight, dbias, running_mean, running_var;
  int64_t positive = 0;  // outputs > 0, to see that the ReLU had both sides to act on
};

// y = op(x) for x [4, 20, 5, 3] (20 channels: a blocked layout has padding lanes) in `layout`, then
// the backward of L = sum r * y.
StepResult batch_norm_step(bool fused, const Layout& layout, DType dtype, bool training) {
  const Shape shape{4, 20, 5, 3};
  Tensor x = testkit::random_tensor_in(layout.of(shape, dtype), 11, -2.f, 2.5f, true);
  Tensor weight = testkit::random_tensor({20}, 12, 0.5f, 1.5f, true);
  Tensor bias = testkit::random_tensor({20}, 13, -0.5f, 0.5f, true);
  const Tensor running_mean = testkit::random_tensor({20}, 14, -0.2f, 0.2f);
  const Tensor running_var = testkit::random_tensor({20}, 15, 0.5f, 2.0f);
  ops::BatchNormOptions options;
  options.training = training;
  options.relu = fused;
  Tensor y = ops::batch_norm2d(x, weight, bias, running_mean, running_var, options);
  if (!fused) y = ops::relu(y);
  const std::vector<float> r = testkit::loss_weights(shape, 16);
  autograd::backward(y, Tensor::from_vector(shape, r).to_desc(y.desc()));
  StepResult result{y.to_vector(),           x.grad().to_vector(),        weight.grad().to_vector(),
                    bias.grad().to_vector(), running_mean.to_vector(), running_var.to_vector()};
  for (const float v : result.y) result.positive += v > 0 ? 1 : 0;
  return result;
}

TEST(BatchNormRelu, FusedOpEqualsBatchNormThenReluBitForBit) {
  SwitchesRestored restore;
  for (const bool recompute : {false, true})
    for (const DType dtype : {DType::f32, DType::bf16})
      for (const Layout& layout : layouts())
        for (const bool training : {true, false}) {
          autograd::set_recompute_enabled(recompute);
          const std::string where = layout.name + " " + dtype_name(dtype) + (training ? " training" : " eval") +
                                    (recompute ? " recompute" : "");
          const StepResult fused = batch_norm_step(true, layout, dtype, training);
          const StepResult apart = batch_norm_step(false, layout, dtype, training);
          // Both sides of the ReLU are exercised: about half the outputs are 0.
          EXPECT_GT(fused.positive, 120) << where;
          EXPECT_LT(fused.positive, 1080) << where;
          EXPECT_EQ(fused.y, apart.y) << where;
          EXPECT_EQ(fused.dx, apart.dx) << where;
          EXPECT_EQ(fused.dweight, apart.dweight) << where;
          EXPECT_EQ(fused.dbias, apart.dbias) << where;
          EXPECT_EQ(fused.running_mean, apart.running_mean) << where;
          EXPECT_EQ(fused.running_var, apart.running_var) << where;
        }
}

TEST(BatchNormRelu, InputGradientIsZeroWhereTheOutputIsZero) {
  // The hand rule, independent of any other op: dL/dx of max(bn(x), 0) passes the batch norm's
  // backward only through outputs > 0, so with r = 1 on the outputs that are 0 and r = 0 elsewhere,
  // every gradient vanishes.
  const Shape shape{3, 4, 2, 2};
  Tensor x = testkit::random_tensor(shape, 21, -1.f, 1.f, true);
  Tensor weight = testkit::random_tensor({4}, 22, 0.5f, 1.5f, true);
  Tensor bias = testkit::random_tensor({4}, 23, -0.5f, 0.5f, true);
  ops::BatchNormOptions options;
  options.relu = true;
  const Tensor y = ops::batch_norm2d(x, weight, bias, Tensor(), Tensor(), options);
  std::vector<float> r;
  int zeros = 0;
  for (const float v : y.to_vector()) {
    EXPECT_GE(v, 0.0f);
    r.push_back(v > 0 ? 0.0f : 1.0f);
    zeros += v > 0 ? 0 : 1;
  }
  ASSERT_GT(zeros, 5);
  autograd::backward(y, Tensor::from_vector(shape, r));
  for (const float g : x.grad().to_vector()) EXPECT_EQ(g, 0.0f);
  for (const float g : weight.grad().to_vector()) EXPECT_EQ(g, 0.0f);
  for (const float g : bias.grad().to_vector()) EXPECT_EQ(g, 0.0f);
}

TEST(BatchNormRelu, SynchronisedTrainingRefusesTheFusedReluWithOneLine) {
  // Refused before any collective: a communicator that claims two ranks and fails the test if used.
  struct TwoRanks final : dist::Communicator {
    int rank() const override { return 0; }
    int size() const override { return 2; }
    std::string description() const override { return "two ranks (test)"; }
    dist::Request allreduce_sum_async(float*, int64_t) override { throw Error("unexpected allreduce"); }
    void allreduce_sum(double*, int64_t) override { throw Error("unexpected allreduce"); }
    void allreduce_max(int64_t*, int64_t) override { throw Error("unexpected allreduce"); }
    void allgather(const double*, int64_t, double*) override { throw Error("unexpected allgather"); }
    void broadcast(float*, int64_t, int) override { throw Error("unexpected broadcast"); }
    void barrier() override {}
    [[noreturn]] void abort(int) override { throw Error("unexpected abort"); }
  } comm;
  ops::BatchNormOptions options;
  options.relu = true;
  options.sync = &comm;
  const Tensor x = testkit::random_tensor({2, 3, 2, 2}, 24);
  try {
    static_cast<void>(ops::batch_norm2d(x, Tensor(), Tensor(), Tensor(), Tensor(), options));
    FAIL() << "expected sugar::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not fused into a synchronised batch norm"), std::string::npos) << e.what();
  }
}

TEST(BatchNormRelu, IsReluNamesReluAloneAmongTheActivations) {
  using activations::ActivationSpec;
  EXPECT_TRUE(activations::is_relu(ActivationSpec::parse("relu")));
  for (const char* other : {"sugar(surrogate=bsilu)", "leaky_relu(negative_slope=0)", "relu6", "rrelu", "prelu"})
    EXPECT_FALSE(activations::is_relu(ActivationSpec::parse(other))) << other;
}

// A conv -> batch norm -> activation triple in training mode.
struct Block {
  std::shared_ptr<nn::Conv2d> conv = std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1, 1, 1, false);
  std::shared_ptr<nn::BatchNorm2d> bn = std::make_shared<nn::BatchNorm2d>(8);
  std::shared_ptr<nn::ActivationModule> act;
  explicit Block(const std::string& activation)
      : act(nn::make_activation(activations::ActivationSpec::parse(activation), 8)) {
    for (nn::Module* m : std::initializer_list<nn::Module*>{conv.get(), bn.get(), act.get()}) nn::initialize(*m, 3);
  }
};

// How often the activation's own forward ran in one conv_bn_activation, and the input's gradient.
struct BlockRun {
  int64_t activation_calls = 0;
  std::vector<float> y, dx;
};

BlockRun run_block(const std::string& activation, bool fusion) {
  SwitchesRestored restore;
  nn::set_training_fusion(fusion);
  Block block(activation);
  Tensor x = testkit::random_tensor({2, 3, 6, 6}, 31, -1.f, 1.f, true);
  profiler::set_enabled(true);
  profiler::reset();
  const Tensor y = nn::conv_bn_activation(*block.conv, block.bn.get(), block.act.get(), x);
  BlockRun run;
  run.activation_calls = profiler::totals().calls[static_cast<size_t>(profiler::OpKind::activation_forward)];
  profiler::set_enabled(false);
  autograd::backward(y, Tensor::full(y.shape(), 1.0f).to_desc(y.desc()));
  run.y = y.to_vector();
  run.dx = x.grad().to_vector();
  return run;
}

TEST(BatchNormRelu, OnlyAReluSiteIsFusedAndTheResultIsTheSame) {
  const BlockRun fused = run_block("relu", true);
  const BlockRun apart = run_block("relu", false);
  EXPECT_EQ(fused.activation_calls, 0);  // the ReLU ran inside the batch norm
  EXPECT_EQ(apart.activation_calls, 1);
  EXPECT_EQ(fused.y, apart.y);
  EXPECT_EQ(fused.dx, apart.dx);
  // SUGAR's backward needs the batch norm's output: it runs by itself whatever the switch says.
  EXPECT_EQ(run_block("sugar(surrogate=bsilu)", true).activation_calls, 1);
  EXPECT_EQ(run_block("leaky_relu", true).activation_calls, 1);
}

// One SGD step of a whole model on a batch of 4 with neuron statistics attached: the parameters
// afterwards and the statistics of every site.
struct ModelStep {
  std::vector<std::vector<float>> parameters;
  std::vector<train::SiteNeuronStats> sites;
};

ModelStep model_step(const std::string& name, DType dtype, bool fusion) {
  SwitchesRestored restore;
  nn::set_training_fusion(fusion);
  models::ModelOptions options;
  options.name = name;
  options.activation = "relu";
  std::shared_ptr<nn::Module> model = models::build_model(options);
  nn::initialize(*model, 5);
  model->train();
  train::NeuronStats stats(*model);
  stats.reset_gradients();
  Tensor images = testkit::random_tensor({4, 3, 32, 32}, 41, -2.f, 2.f);
  if (dtype == DType::bf16) images = images.to_dtype(DType::bf16);
  optim::SgdOptions sgd;
  sgd.lr = 0.1;
  sgd.momentum = 0.9;
  optim::SGD optimizer(model->parameters(), sgd);
  const Tensor loss = ops::cross_entropy(model->forward(images), {1, 7, 3, 3});
  autograd::backward(loss);
  optimizer.step();
  ModelStep step;
  for (const Tensor& p : model->parameters()) step.parameters.push_back(p.to_vector());
  step.sites = stats.results();
  return step;
}

TEST(BatchNormRelu, WholeModelsTakeTheSameStepWithNeuronStatisticsWatching) {
  for (const std::string name : {"vgg11", "resnet18"})
    for (const DType dtype : {DType::f32, DType::bf16}) {
      const std::string where = name + " " + dtype_name(dtype);
      const ModelStep fused = model_step(name, dtype, true);
      const ModelStep apart = model_step(name, dtype, false);
      ASSERT_EQ(fused.parameters.size(), apart.parameters.size()) << where;
      for (size_t i = 0; i < fused.parameters.size(); ++i) EXPECT_EQ(fused.parameters[i], apart.parameters[i]) << where << " parameter " << i;
      ASSERT_EQ(fused.sites.size(), apart.sites.size()) << where;
      int partly_reached = 0;
      for (size_t i = 0; i < fused.sites.size(); ++i) {
        EXPECT_EQ(fused.sites[i].grad_norm, apart.sites[i].grad_norm) << where << " " << fused.sites[i].site;
        EXPECT_EQ(fused.sites[i].grad_nonzero_fraction, apart.sites[i].grad_nonzero_fraction)
            << where << " " << fused.sites[i].site;
        const double f = fused.sites[i].grad_nonzero_fraction;
        partly_reached += f > 0 && f < 1 ? 1 : 0;
      }
      // The ReLU masks some units: the masked statistics were exercised.
      EXPECT_GT(partly_reached, 0) << where;
    }
}

}  // namespace
