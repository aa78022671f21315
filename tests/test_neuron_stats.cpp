// Dead-unit statistics (train/neuron_stats.hpp, neurons.csv): dead fraction and sparsity of inputs with
// known dead channels in every layout, gradient norm and reached units for ReLU against SUGAR with the
// B-SiLU surrogate, computed by hand; the CSV's format and resume; and a tiny `sugar train` run whose
// last neurons.csv rows equal a measurement of its checkpoint over the test set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/autograd.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/module.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/runtime.hpp"
#include "sugar/saved_tensor.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/checkpoint.hpp"
#include "sugar/train/neuron_stats.hpp"
#include "sugar/train/neurons_csv.hpp"
#include "sugar/run_dir/csv_files.hpp"
#include "sugar/train/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/synthetic_cifar.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;
using train::NeuronStats;
using train::SiteNeuronStats;

std::shared_ptr<nn::Sequential> sites_model(const std::vector<std::string>& specs, int64_t channels) {
  auto model = std::make_shared<nn::Sequential>();
  for (const std::string& spec : specs)
    model->push_back(nn::make_activation(activations::ActivationSpec::parse(spec), channels));
  nn::initialize(*model, 0);
  return model;
}

// ---- dead fraction and sparsity -----------------------------------------------------------------

// [2, 4, 2, 3] pre-activations, logical order, with channels 1 and 3 dead (never > 0; channel 1 is
// exactly 0 in sample 0) and 11 + 12 + 2 + 12 = 37 of the 48 elements <= 0:
//   channel 0: negative except one element (sample 1, position 5)    11 non-positive
//   channel 1: 0 in sample 0, negative in sample 1                     12
//   channel 2: positive except a 0 and a -0.75                         2
//   channel 3: -1 everywhere                                           12
std::vector<float> known_dead_values() {
  std::vector<float> v;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 4; ++c)
      for (int s = 0; s < 6; ++s) {
        float x = 0;
        if (c == 0) x = (n == 1 && s == 5) ? 2.0f : -1.0f - 0.5f * static_cast<float>(s);
        if (c == 1) x = n == 0 ? 0.0f : -static_cast<float>(s + 1);
        if (c == 2) x = (n == 0 && s == 0) ? 0.0f : (n == 1 && s == 3) ? -0.75f : 0.5f + static_cast<float>(s + n);
        if (c == 3) x = -1.0f;
        v.push_back(x);
      }
  return v;
}

constexpr double kKnownSparsity = 37.0 / 48.0;

// One sample of the known input in `layout_of(shape)` and `dtype`.
Tensor known_sample(int n, const std::function<memory::desc(const Shape&)>& layout_of, DType dtype) {
  const std::vector<float> all = known_dead_values();
  const std::vector<float> one(all.begin() + n * 24, all.begin() + (n + 1) * 24);
  const Shape shape{1, 4, 2, 3};
  Tensor t = Tensor::from_vector(shape, one).to_desc(layout_of(shape));
  return dtype == DType::f32 ? t : t.to_dtype(dtype);
}

TEST(NeuronStats, DeadFractionAndSparsityOfKnownDeadChannelsInEveryLayout) {
  const std::vector<std::pair<std::string, std::function<memory::desc(const Shape&)>>> layouts{
      {"nchw", [](const Shape& s) { return plain_desc(s); }},
      {"nChw16c (12 padding lanes)", [](const Shape& s) { return testkit::blocked16(s); }},
      {"nhwc", [](const Shape& s) { return memory::desc(s, memory::data_type::f32, memory::format_tag::nhwc); }},
  };
  for (const auto& [name, layout_of] : layouts) {
    for (const DType dtype : {DType::f32, DType::bf16}) {  // every known value is exact in bf16
      SCOPED_TRACE(name + " " + dtype_name(dtype));
      // ReLU then SUGAR: the second site sees relu(x), whose dead channels and zeros are the same.
      auto model = sites_model({"relu", "sugar(surrogate=bsilu)"}, 4);
      NeuronStats stats(*model);
      ASSERT_EQ(stats.sites(), (std::vector<std::string>{"0", "1"}));
      stats.begin_measurement();
      {
        autograd::NoGradGuard no_grad;
        (*model)(known_sample(0, layout_of, dtype));  // two batches, one sample each
        (*model)(known_sample(1, layout_of, dtype));
      }
      stats.end_measurement();
      const std::vector<SiteNeuronStats> r = stats.results();
      ASSERT_EQ(r.size(), 2u);
      for (const SiteNeuronStats& site : r) {
        EXPECT_EQ(site.channels, 4);
        EXPECT_EQ(site.dead_fraction, 0.5) << site.site;
        EXPECT_EQ(site.sparsity, kKnownSparsity) << site.site;
        EXPECT_EQ(site.grad_norm, 0.0);  // no training step
        EXPECT_EQ(site.grad_nonzero_fraction, 0.0);
      }
      EXPECT_GE(stats.measurement_seconds(), 0.0);
    }
  }
}

TEST(NeuronStats, OnlyForwardsWithoutGradientsInsideAMeasurementCount) {
  auto model = sites_model({"relu"}, 4);
  NeuronStats stats(*model);
  const auto plain = [](const Shape& s) { return plain_desc(s); };
  const Tensor positive = Tensor::full({1, 4, 2, 3}, 1.0f);
  {
    autograd::NoGradGuard no_grad;
    (*model)(positive);  // before the measurement: not counted
  }
  EXPECT_TRUE(std::isnan(stats.results()[0].dead_fraction));  // nothing measured yet
  stats.begin_measurement();
  {
    autograd::NoGradGuard no_grad;
    (*model)(known_sample(0, plain, DType::f32));
    (*model)(known_sample(1, plain, DType::f32));
  }
  Tensor trained = positive.clone();
  trained.set_requires_grad(true);
  autograd::backward((*model)(trained));  // a training step during the measurement: not counted
  stats.end_measurement();
  {
    autograd::NoGradGuard no_grad;
    (*model)(positive);  // after it: not counted
  }
  const SiteNeuronStats r = stats.results()[0];
  EXPECT_EQ(r.dead_fraction, 0.5);
  EXPECT_EQ(r.sparsity, kKnownSparsity);
  // A new measurement starts from zero: an all-positive input has no dead channel.
  stats.begin_measurement();
  {
    autograd::NoGradGuard no_grad;
    (*model)(positive);
  }
  stats.end_measurement();
  EXPECT_EQ(stats.results()[0].dead_fraction, 0.0);
  EXPECT_EQ(stats.results()[0].sparsity, 0.0);
}

TEST(NeuronStats, AttachesOnceAndDetaches) {
  auto model = sites_model({"relu", "gelu"}, 3);
  {
    NeuronStats stats(*model);
    EXPECT_THROW({ NeuronStats second(*model); }, Error);
    // The failed second one left the first one's attachments alone.
    EXPECT_NE(dynamic_cast<nn::ActivationModule&>((*model)[1]).observer(), nullptr);
  }
  EXPECT_EQ(dynamic_cast<nn::ActivationModule&>((*model)[0]).observer(), nullptr);
  EXPECT_EQ(dynamic_cast<nn::ActivationModule&>((*model)[1]).observer(), nullptr);
  NeuronStats again(*model);  // free again
  EXPECT_EQ(again.sites().size(), 2u);
}

// ---- gradient statistics ------------------------------------------------------------------------

// x [2, 2, 1, 2] and the upstream gradient r = dL/dy, logical order (n, c, s):
//   x: n0 c0 [1.5, -0.5]  c1 [-1, -2]      r: n0 c0 [0.5, 2]    c1 [1.5, -1]
//      n1 c0 [-0.25, -1]  c1 [-3, 0]          n1 c0 [3, 0.25]   c1 [-2, 4]
// Units (c, s): 4. ReLU passes r only where x > 0: the single element (n0, c0, s0) -> one unit
// reached, ||dL/dx|| = 0.5 (x = 0 gets relu'(0) = 0). SUGAR with B-SiLU passes r * bsilu'(x)
// everywhere, non-zero for each of these x: every unit reached.
const Shape kGradShape{2, 2, 1, 2};
const std::vector<float> kX{1.5f, -0.5f, -1.0f, -2.0f, -0.25f, -1.0f, -3.0f, 0.0f};
const std::vector<float> kUpstream{0.5f, 2.0f, 1.5f, -1.0f, 3.0f, 0.25f, -2.0f, 4.0f};

double bsilu_derivative(double x) {
  const double alpha = 1.67;
  const double s = 1 / (1 + std::exp(-x));
  return s + (x + alpha) * s * (1 - s);
}

// One training step of `model` on x (in `layout`) with upstream gradient r; returns dL/dx, logical.
std::vector<float> step(nn::Module& model, const std::vector<float>& x_values, const memory::desc& layout) {
  Tensor x = Tensor::from_vector(kGradShape, x_values).to_desc(layout);
  if (x.is_plain()) x = x.clone();
  x.set_requires_grad(true);
  const Tensor y = model(x);
  autograd::backward(y, Tensor::from_vector(kGradShape, kUpstream).to_desc(y.desc()));
  return x.grad().to_vector();
}

TEST(NeuronStats, GradientNormAndReachedUnitsReluAgainstSugarBsilu) {
  for (const memory::desc& layout : {plain_desc(kGradShape), testkit::blocked16(kGradShape)}) {
    SCOPED_TRACE(layout.data.format_desc.blocking.inner_nblks == 0 ? "nchw" : "nChw16c");
    // ReLU: one unit of four, norm 0.5.
    auto relu = sites_model({"relu"}, 2);
    const std::vector<float> relu_grad_alone = step(*relu, kX, layout);
    NeuronStats relu_stats(*relu);
    relu_stats.reset_gradients();
    const std::vector<float> relu_grad = step(*relu, kX, layout);
    EXPECT_EQ(relu_grad, relu_grad_alone);  // watching leaves the gradient as it was
    SiteNeuronStats r = relu_stats.results()[0];
    EXPECT_EQ(r.grad_nonzero_fraction, 0.25);
    EXPECT_EQ(r.grad_norm, 0.5);

    // A second step in which (n1, c1, s1) is alive (x = 0.5, r = 4) reaches a second unit; the norm
    // is the root of the summed squares: 0.25 + (0.25 + 16).
    std::vector<float> x2 = kX;
    x2[7] = 0.5f;
    step(*relu, x2, layout);
    r = relu_stats.results()[0];
    EXPECT_EQ(r.grad_nonzero_fraction, 0.5);
    EXPECT_DOUBLE_EQ(r.grad_norm, std::sqrt(16.5));
    relu_stats.reset_gradients();
    EXPECT_EQ(relu_stats.results()[0].grad_norm, 0.0);
    EXPECT_EQ(relu_stats.results()[0].grad_nonzero_fraction, 0.0);

    // SUGAR(B-SiLU): every unit, norm from the closed-form derivative.
    auto sugar = sites_model({"sugar(surrogate=bsilu)"}, 2);
    const std::vector<float> sugar_grad_alone = step(*sugar, kX, layout);
    NeuronStats sugar_stats(*sugar);
    const std::vector<float> sugar_grad = step(*sugar, kX, layout);
    EXPECT_EQ(sugar_grad, sugar_grad_alone);
    double squares = 0;
    for (size_t i = 0; i < kX.size(); ++i) {
      const double g = kUpstream[i] * bsilu_derivative(kX[i]);
      EXPECT_NEAR(sugar_grad[i], g, 1e-5 * std::max(1.0, std::abs(g))) << i;
      EXPECT_NE(g, 0.0);
      squares += g * g;
    }
    const SiteNeuronStats s = sugar_stats.results()[0];
    EXPECT_EQ(s.grad_nonzero_fraction, 1.0);
    EXPECT_NEAR(s.grad_norm, std::sqrt(squares), 1e-5 * std::sqrt(squares));
  }
}

TEST(NeuronStats, SitesInModelOrderAndGradientOfEachSite) {
  // Two sites in a row: the first site's dL/dx is the second's times relu'(x), so with x > 0 both
  // see the same gradient; the order of results is the model's.
  auto model = sites_model({"relu", "sugar(surrogate=bsilu)"}, 2);
  NeuronStats stats(*model);
  std::vector<float> positive(kX.size(), 1.0f);
  step(*model, positive, plain_desc(kGradShape));
  const std::vector<SiteNeuronStats> r = stats.results();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].site, "0");
  EXPECT_EQ(r[1].site, "1");
  double squares = 0;
  for (float u : kUpstream) squares += std::pow(u * bsilu_derivative(1.0), 2);
  EXPECT_NEAR(r[1].grad_norm, std::sqrt(squares), 1e-5 * std::sqrt(squares));
  EXPECT_EQ(r[0].grad_norm, r[1].grad_norm);
  EXPECT_EQ(r[0].grad_nonzero_fraction, 1.0);
}

TEST(NeuronStats, LargeInputsOnTwoThreadsMatchAReferenceLoopInEveryLayout) {
  // [8, 40, 16, 16]: above the parallel threshold, 40 channels (48 in nChw16c), channels 3, 17 and 39
  // dead (negative everywhere). Upstream gradients with exact zeros. ReLU's dL/dx = r * (x > 0).
  const Shape shape{8, 40, 16, 16};
  const int64_t C = 40, S = 256, N = 8;
  std::vector<float> x = testkit::random_tensor(shape, 11, -1.0f, 1.0f).to_vector();
  std::vector<float> r = testkit::random_tensor(shape, 12, -1.0f, 1.0f).to_vector();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c : {3, 17, 39})
      for (int64_t s = 0; s < S; ++s) x[(n * C + c) * S + s] = -0.5f - static_cast<float>(s % 7);
  for (size_t i = 0; i < r.size(); i += 5) r[i] = 0.0f;
  // The reference.
  std::vector<uint8_t> alive(C, 0), reached(C * S, 0);
  int64_t nonpositive = 0;
  double squares = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        const size_t i = static_cast<size_t>((n * C + c) * S + s);
        alive[c] |= x[i] > 0;
        nonpositive += x[i] > 0 ? 0 : 1;
        const double g = x[i] > 0 ? static_cast<double>(r[i]) : 0.0;
        squares += g * g;
        reached[c * S + s] |= g != 0;
      }
  const double dead = static_cast<double>(C - std::count(alive.begin(), alive.end(), 1)) / static_cast<double>(C);
  EXPECT_EQ(dead, 3.0 / 40.0);
  const double reached_fraction =
      static_cast<double>(std::count(reached.begin(), reached.end(), 1)) / static_cast<double>(C * S);
  EXPECT_LT(reached_fraction, 1.0 - 3.0 / 40.0);  // the dead channels' units and then some

  const int threads_before = num_threads();
  set_num_threads(2);
  const memory::desc nhwc(shape, memory::data_type::f32, memory::format_tag::nhwc);
  for (const memory::desc& layout : {plain_desc(shape), testkit::blocked16(shape), nhwc}) {
    SCOPED_TRACE(describe(layout));
    auto model = sites_model({"relu"}, C);
    NeuronStats stats(*model);
    Tensor input = Tensor::from_vector(shape, x).to_desc(layout);
    if (input.is_plain()) input = input.clone();
    input.set_requires_grad(true);
    const Tensor y = (*model)(input);
    autograd::backward(y, Tensor::from_vector(shape, r).to_desc(y.desc()));
    stats.begin_measurement();
    {
      autograd::NoGradGuard no_grad;
      (*model)(input.detach());
    }
    stats.end_measurement();
    const SiteNeuronStats got = stats.results()[0];
    EXPECT_EQ(got.dead_fraction, dead);
    EXPECT_EQ(got.sparsity, static_cast<double>(nonpositive) / static_cast<double>(N * C * S));
    EXPECT_EQ(got.grad_nonzero_fraction, reached_fraction);
    EXPECT_NEAR(got.grad_norm, std::sqrt(squares), 1e-12 * std::sqrt(squares));
  }
  set_num_threads(threads_before);
}

// ---- neurons.csv --------------------------------------------------------------------------------

class NeuronsCsvFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sugar-neurons-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

SiteNeuronStats site_row(const std::string& name, double dead) {
  SiteNeuronStats s;
  s.site = name;
  s.dead_fraction = dead;
  s.sparsity = 37.0 / 48.0;
  s.grad_norm = 0.5;
  s.grad_nonzero_fraction = 0.25;
  return s;
}

TEST_F(NeuronsCsvFiles, HeaderRowsAndResumeDropsRowsAfterTheCheckpoint) {
  EXPECT_EQ(train::NeuronsCsv::header_line(), "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction");
  EXPECT_EQ(train::NeuronsCsv::format_row(3, site_row("layer1.0.act1", 0.5)),
            "3,layer1.0.act1,0.500000,0.770833,0.5,0.250000");
  const std::string path = dir_ + "/neurons.csv";
  {
    train::NeuronsCsv csv = train::NeuronsCsv::create(path);
    for (int epoch = 1; epoch <= 3; ++epoch) csv.append(epoch, {site_row("act1", 0.25), site_row("features.2", 0)});
  }
  std::string text = io::read_file(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 7);
  io::write_file_atomic(path, text + "4,act1,0.1");  // killed while writing epoch 4
  {
    const run_dir::KeptRows kept = run_dir::kept_neuron_rows(path, train::NeuronsCsv::header_line(), 2);  // checkpoint at epoch 2
    EXPECT_EQ(kept.discarded_epochs, (std::vector<int64_t>{3}));
    EXPECT_EQ(kept.torn_line, 8u);
    io::write_file_atomic(path, kept.text);
    train::NeuronsCsv csv = train::NeuronsCsv::append_to(path);
    csv.append(3, {site_row("act1", 1.0)});
  }
  EXPECT_EQ(io::read_file(path),
            "epoch,site,dead_fraction,sparsity,grad_norm,grad_nonzero_fraction\n"
            "1,act1,0.250000,0.770833,0.5,0.250000\n"
            "1,features.2,0.000000,0.770833,0.5,0.250000\n"
            "2,act1,0.250000,0.770833,0.5,0.250000\n"
            "2,features.2,0.000000,0.770833,0.5,0.250000\n"
            "3,act1,1.000000,0.770833,0.5,0.250000\n");
  io::write_file_atomic(path, "epoch,train_loss\n");
  EXPECT_THROW(run_dir::kept_neuron_rows(path, train::NeuronsCsv::header_line(), 1), Error);
  io::write_file_atomic(path, train::NeuronsCsv::header_line() + "\n1,act1,2.5,0.5,0.5,0.5\n");  // not a fraction
  EXPECT_THROW(run_dir::kept_neuron_rows(path, train::NeuronsCsv::header_line(), 1), Error);
}

// ---- end to end ---------------------------------------------------------------------------------

class NeuronStatsE2E : public NeuronsCsvFiles {
 protected:
  config::ExperimentConfig make_config(const std::vector<std::string>& overrides) {
    testkit::write_synthetic_cifar10(fs::path(dir_) / "cifar", 32, 16);
    const std::string text = "name: neurons\nseed: 5\nmodel: {name: vgg11}\n"
                             "data: {name: cifar10, root: " + dir_ + "/cifar}\n"
                             "optim: {name: sgd, lr: 0.05, momentum: 0.9}\n"
                             "schedule: {name: constant}\n"
                             "train: {epochs: 2, batch_size: 16, eval_batch_size: 16, threads: 1}\n";
    return config::load_config_text(text, "neurons.yaml", overrides);
  }
  train::TrainOptions options(const std::string& run_dir) {
    train::TrainOptions o;
    o.run_dir = run_dir;
    o.progress_bar = false;
    o.handle_signals = false;
    return o;
  }
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream cells_in(line);
  for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
  return cells;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(split(line));
  return rows;
}

// Two runs wrote the same metrics (time columns aside) and bit-identical last weights.
void expect_same_numbers(const std::string& run, const std::string& other) {
  auto without_time = [](std::vector<std::vector<std::string>> rows) {
    for (auto& row : rows) row.erase(row.begin() + 7, row.begin() + 9);
    return rows;
  };
  EXPECT_EQ(without_time(read_csv(run + "/metrics.csv")), without_time(read_csv(other + "/metrics.csv")));
  const io::SafetensorsFile a = io::SafetensorsFile::read(run + "/last.safetensors");
  const io::SafetensorsFile b = io::SafetensorsFile::read(other + "/last.safetensors");
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    const io::TensorInfo& info = a.info(name);
    ASSERT_EQ(info.end - info.begin, b.info(name).end - b.info(name).begin) << name;
    EXPECT_EQ(std::memcmp(a.bytes(name), b.bytes(name), info.end - info.begin), 0) << name;
  }
}

const std::vector<std::string> kVgg11Sites{"features.2",  "features.6",  "features.10", "features.13",
                                          "features.17", "features.20", "features.24", "features.27"};

TEST_F(NeuronStatsE2E, TrainWritesOneRowPerSiteAndEpochMatchingAMeasurementOfTheCheckpoint) {
  // eval_every 2: epoch 1 is measured by a pass of its own, epoch 2 during the evaluation.
  const config::ExperimentConfig config = make_config({"train.eval_every=2"});
  const std::string run = dir_ + "/run";
  train::train(config, options(run));
  const auto csv = read_csv(run + "/neurons.csv");
  ASSERT_EQ(csv.size(), 1 + 2 * kVgg11Sites.size());
  EXPECT_EQ(csv[0], (std::vector<std::string>{"epoch", "site", "dead_fraction", "sparsity", "grad_norm",
                                              "grad_nonzero_fraction"}));
  for (size_t i = 1; i < csv.size(); ++i) {
    const auto& row = csv[i];
    ASSERT_EQ(row.size(), 6u) << i;
    EXPECT_EQ(row[0], std::to_string(1 + (i - 1) / kVgg11Sites.size()));
    EXPECT_EQ(row[1], kVgg11Sites[(i - 1) % kVgg11Sites.size()]);
    for (const size_t fraction : {2u, 3u, 5u}) {
      const double v = std::stod(row[fraction]);
      EXPECT_TRUE(v >= 0.0 && v <= 1.0) << row[1] << " column " << fraction << ": " << v;
    }
    const double norm = std::stod(row[4]);
    EXPECT_TRUE(std::isfinite(norm) && norm > 0) << row[1];  // every site received gradients
    EXPECT_GT(std::stod(row[5]), 0.0) << row[1];
  }

  // The epoch-2 activation statistics are those of the final model over the test set.
  const data::DataSplits splits = data::load_data(config.data);
  std::shared_ptr<nn::Module> model = train::build_model(config, splits);
  train::load_checkpoint(run + "/last.safetensors", *model, nullptr);
  NeuronStats stats(*model);
  auto loader = train::build_eval_loader(config, splits.test, splits.normalization);
  train::measure_activations(*model, *loader, DType::f32, stats);
  const std::vector<SiteNeuronStats> measured = stats.results();
  ASSERT_EQ(measured.size(), kVgg11Sites.size());
  for (size_t k = 0; k < measured.size(); ++k) {
    const std::vector<std::string>& row = csv[1 + kVgg11Sites.size() + k];
    const std::vector<std::string> expected = split(train::NeuronsCsv::format_row(2, measured[k]));
    // epoch, site, dead_fraction, sparsity; the gradient columns come from training, not from here.
    EXPECT_EQ(std::vector<std::string>(row.begin(), row.begin() + 4),
              std::vector<std::string>(expected.begin(), expected.begin() + 4));
  }
}

TEST_F(NeuronStatsE2E, OffWritesNoFileAndResumeKeepsRowsUpToTheCheckpoint) {
  const std::string off = dir_ + "/off";
  train::train(make_config({"train.neuron_stats=false", "train.epochs=1"}), options(off));
  EXPECT_FALSE(fs::exists(off + "/neurons.csv"));
  EXPECT_TRUE(fs::exists(off + "/metrics.csv"));

  // One epoch, then an orphan epoch-2 row as a run killed between rows and checkpoint leaves, then a
  // resume to two epochs (constant schedule): the orphan is replaced by the real epoch 2.
  const std::string run = dir_ + "/run";
  train::train(make_config({"train.epochs=1"}), options(run));
  // Watching changes nothing: the same metrics (time columns aside) and bit-identical weights.
  expect_same_numbers(run, off);

  const std::string first = io::read_file(run + "/neurons.csv");
  io::write_file_atomic(run + "/neurons.csv", first + "2,features.2,0.9,0.9,1,0.9\n");
  train::resume(run, {"train.epochs=2"}, options(run));
  const auto csv = read_csv(run + "/neurons.csv");
  ASSERT_EQ(csv.size(), 1 + 2 * kVgg11Sites.size());
  EXPECT_EQ(io::read_file(run + "/neurons.csv").substr(0, first.size()), first);
  for (size_t k = 0; k < kVgg11Sites.size(); ++k) {
    EXPECT_EQ(csv[1 + kVgg11Sites.size() + k][0], "2");
    EXPECT_EQ(csv[1 + kVgg11Sites.size() + k][1], kVgg11Sites[k]);
  }
  EXPECT_NE(csv[1 + kVgg11Sites.size()][2], "0.9");
}

TEST_F(NeuronStatsE2E, RecomputationChangesNoNumberOfARun) {
  // train.recompute (on by default) recomputes each batch-norm + ReLU output in the backward; the
  // watched gradients, the metrics and the weights are bit-identical to keeping them.
  const std::string kept = dir_ + "/kept";
  const std::string recomputed = dir_ + "/recomputed";
  train::train(make_config({"train.recompute=false", "train.epochs=1"}), options(kept));
  EXPECT_FALSE(autograd::recompute_enabled()) << "train sets its thread's switch from the config";
  train::train(make_config({"train.epochs=1"}), options(recomputed));
  EXPECT_TRUE(autograd::recompute_enabled());
  expect_same_numbers(recomputed, kept);
  EXPECT_EQ(io::read_file(recomputed + "/neurons.csv"), io::read_file(kept + "/neurons.csv"));
}

}  // namespace
