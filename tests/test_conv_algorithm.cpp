// Convolution algorithms (ops/conv_algorithm.hpp): Winograd against the double-precision reference
// on ResNet-style 3x3 layers in all three passes, the fallbacks, auto's choice and its cache, and
// recorded choices overriding measurement (what a resumed run relies on).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/config/config_yaml.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/ops/conv2d.hpp"
#include "sugar/ops/conv_algorithm_store.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/runtime.hpp"
#include "sugar/train/builders.hpp"
#include "sugar/train/checkpoint.hpp"
#include "sugar/train/conv_choice_agreement.hpp"
#include "sugar/train/run_info.hpp"
#include "support/gradcheck.hpp"
#include "support/reference_conv.hpp"

using namespace sugar;
using ops::ConvAlgoPolicy;
using ops::ConvAlgorithm;
using ops::Conv2dOptions;

namespace {

Conv2dOptions same_3x3(std::optional<ConvAlgoPolicy> policy) {
  Conv2dOptions o;
  o.padding = {1, 1};
  o.algorithm = policy;
  return o;
}

// Points the machine's store of auto's choices (SUGAR_CACHE_DIR) at an empty directory of its own for
// its lifetime and forgets the process's choices, so a test sees what a first process on a new
// machine sees.
class FreshMachineStore {
 public:
  FreshMachineStore()
      : dir_(std::filesystem::temp_directory_path() /
             ("sugar-conv-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::filesystem::remove_all(dir_);
    if (const char* old = std::getenv("SUGAR_CACHE_DIR")) old_ = old;
    ::setenv("SUGAR_CACHE_DIR", dir_.c_str(), 1);
    ops::clear_conv_algorithm_cache();
  }
  ~FreshMachineStore() {
    if (old_) ::setenv("SUGAR_CACHE_DIR", old_->c_str(), 1);
    else ::unsetenv("SUGAR_CACHE_DIR");
    std::filesystem::remove_all(dir_);
    ops::clear_conv_algorithm_cache();
  }
  // The files in the directory whose name starts with `prefix`.
  std::vector<std::filesystem::path> files(const std::string& prefix) const {
    std::vector<std::filesystem::path> found;
    if (!std::filesystem::exists(dir_)) return found;
    for (const auto& entry : std::filesystem::directory_iterator(dir_))
      if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path());
    return found;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::optional<std::string> old_;
};

// auto's rule sees made-up timings while this object lives: Winograd takes `ratio` of direct's time in
// every pair, with `noise` spread across the pairs (about +-noise), and `others_busy` of the machine
// was used by other processes. Records the layers and passes it was asked about.
class InjectedTimings {
 public:
  explicit InjectedTimings(double ratio, double noise = 0.001, double others_busy = 0.0) {
    ops::set_conv_timing_source_for_tests([this, ratio, noise, others_busy](const std::string& layer,
                                                                            const std::string& pass) {
      asked.push_back(layer + " | " + pass);
      ops::PassTimings t;
      for (int i = 0; i < ops::kTimedPairs; ++i) {
        const double spread = noise * ((i % 3) - 1);  // -noise, 0, +noise, ...
        t.direct_ms.push_back(10.0);
        t.winograd_ms.push_back(10.0 * ratio * (1 + spread));
      }
      t.others_busy = others_busy;
      return t;
    });
  }
  ~InjectedTimings() { ops::set_conv_timing_source_for_tests({}); }
  InjectedTimings(const InjectedTimings&) = delete;
  InjectedTimings& operator=(const InjectedTimings&) = delete;
  std::vector<std::string> asked;
};

// Largest |got - expected| over the largest |expected|: the error relative to the scale of the result.
double relative_max_error(const std::vector<float>& got, const std::vector<double>& expected) {
  EXPECT_EQ(got.size(), expected.size());
  double error = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    error = std::max(error, std::abs(got[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  return error / scale;
}

struct PassErrors {
  double forward = 0, backward_data = 0, backward_weights = 0;
  ops::ConvPassAlgorithms ran;
};

// One forward and backward of a 3x3 same-padding convolution under `policy`, against the reference.
// Inputs and the output gradient are uniform in [-1, 1), the weight in +-sqrt(3 / fan_in) (unit
// variance outputs, as in a trained network).
PassErrors errors_against_reference(const Shape& x_shape, int64_t out_channels, ConvAlgoPolicy policy) {
  const int64_t C = x_shape[1];
  const Shape w_shape{out_channels, C, 3, 3};
  const float w_range = std::sqrt(3.0f / static_cast<float>(C * 9));
  const Tensor x = testkit::random_tensor(x_shape, 11, -1, 1, true);
  const Tensor w = testkit::random_tensor(w_shape, 12, -w_range, w_range, true);
  ops::Conv2dState state;
  const Conv2dOptions options = same_3x3(policy);
  const Tensor y = ops::conv2d(x, w, Tensor(), options, &state);
  const Tensor grad_y = testkit::random_tensor(y.shape(), 13, -1, 1);
  autograd::backward(y, grad_y);

  const std::vector<float> xs = x.to_vector(), ws = w.to_vector(), gs = grad_y.to_vector();
  Shape y_shape;
  PassErrors e;
  e.ran = state.choice->algorithms;
  e.forward = relative_max_error(y.to_vector(), testkit::reference_conv2d(xs, x_shape, ws, w_shape, {}, options, &y_shape));
  e.backward_data =
      relative_max_error(x.grad().to_vector(), testkit::reference_conv2d_backward_data(gs, x_shape, ws, w_shape, options));
  e.backward_weights = relative_max_error(w.grad().to_vector(),
                                          testkit::reference_conv2d_backward_weights(xs, x_shape, gs, w_shape, options));
  return e;
}

const ops::ConvPassAlgorithms kAllWinograd{ConvAlgorithm::winograd, ConvAlgorithm::winograd, ConvAlgorithm::winograd};
const ops::ConvPassAlgorithms kAllDirect{};

// oneDNN 2.6 has Winograd only from avx512_core up.
bool cpu_has_winograd() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
         isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

}  // namespace

// ---- Winograd against the reference ------------------------------------------------------------

// Errors relative to the largest reference value (relative_max_error), measured on this machine
// (AMD EPYC Zen 4, oneDNN 2.6.3 jit_wino_4x3:avx512_core, one thread) for the layers below:
//
//   layer (x -> y)           direct fwd / bwd-data / bwd-weights     Winograd fwd / bwd-data / bwd-weights
//   2x64x32x32  -> 64        2.7e-7 / 3.4e-7 / 1.5e-6                1.5e-6 / 1.4e-6 / 9.0e-7
//   2x128x16x16 -> 128       2.7e-7 / 2.3e-7 / 8.4e-7                2.0e-6 / 1.9e-6 / 1.1e-6
//   2x256x8x8   -> 256       2.5e-7 / 3.2e-7 / 3.8e-7                3.3e-6 / 3.5e-6 / 7.6e-7
//   2x512x4x4   -> 512       2.3e-7 / 2.8e-7 / 2.4e-7                2.4e-6 / 2.8e-6 / 7.5e-7
//   2x3x32x32   -> 64 (stem) 2.1e-7 / 3.0e-7 / 8.0e-7                8.7e-7 / 1.3e-6 / 9.1e-7
//
// Winograd's transforms cost about ten times direct convolution's error in forward and
// backward-data (3.5e-6 at worst, still ~30 f32 ulps of the largest value); backward-weights, a long
// reduction over batch and pixels in both, is alike. The tolerances are about three times the worst
// measured error of each algorithm: a wrong tap, a transposed kernel or a lost tile is off by O(1).
constexpr double kDirectTolerance = 5e-6;
constexpr double kWinogradTolerance = 1e-5;

class WinogradLayer : public testing::TestWithParam<std::pair<Shape, int64_t>> {};

TEST_P(WinogradLayer, AllPassesMatchTheDoubleReference) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const auto& [x_shape, out_channels] = GetParam();
  const PassErrors direct = errors_against_reference(x_shape, out_channels, ConvAlgoPolicy::direct);
  const PassErrors winograd = errors_against_reference(x_shape, out_channels, ConvAlgoPolicy::winograd);
  EXPECT_EQ(direct.ran, kAllDirect);
  EXPECT_EQ(winograd.ran, kAllWinograd);
  EXPECT_LE(direct.forward, kDirectTolerance);
  EXPECT_LE(direct.backward_data, kDirectTolerance);
  EXPECT_LE(direct.backward_weights, kDirectTolerance);
  EXPECT_LE(winograd.forward, kWinogradTolerance);
  EXPECT_LE(winograd.backward_data, kWinogradTolerance);
  EXPECT_LE(winograd.backward_weights, kWinogradTolerance);
  // Different arithmetic: had the winograd policy silently run direct, the results would be identical.
  EXPECT_NE(winograd.forward, direct.forward);
}

INSTANTIATE_TEST_SUITE_P(ResNetStages, WinogradLayer,
                         testing::Values(std::pair<Shape, int64_t>{{2, 64, 32, 32}, 64},
                                         std::pair<Shape, int64_t>{{2, 128, 16, 16}, 128},
                                         std::pair<Shape, int64_t>{{2, 256, 8, 8}, 256},
                                         std::pair<Shape, int64_t>{{2, 512, 4, 4}, 512},
                                         std::pair<Shape, int64_t>{{2, 3, 32, 32}, 64}));

// Winograd's inference kernel takes pre-transformed weights (its own format, not the training layout).
TEST(ConvAlgorithm, WinogradInferenceForwardMatchesTheReference) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const Shape x_shape{2, 32, 12, 12}, w_shape{48, 32, 3, 3};
  const Tensor x = testkit::random_tensor(x_shape, 21);
  const Tensor w = testkit::random_tensor(w_shape, 22, -0.1f, 0.1f);
  const Tensor b = testkit::random_tensor({48}, 23);
  ops::Conv2dState state;
  const Conv2dOptions options = same_3x3(ConvAlgoPolicy::winograd);
  autograd::NoGradGuard no_grad;
  const Tensor y = ops::conv2d(x, w, b, options, &state);
  EXPECT_EQ(state.choice->algorithms, kAllWinograd);
  Shape y_shape;
  const std::vector<double> expected =
      testkit::reference_conv2d(x.to_vector(), x_shape, w.to_vector(), w_shape, b.to_vector(), options, &y_shape);
  EXPECT_EQ(y.shape(), y_shape);
  EXPECT_LE(relative_max_error(y.to_vector(), expected), kWinogradTolerance);
  bool inference_runs_winograd = false;
  for (const PrimitiveImplementation& p : primitive_implementations())
    if (p.key.starts_with("conv2d_forward_inference") && p.key.find(to_string(x_shape)) != std::string::npos)
      inference_runs_winograd = p.implementation.find("wino") != std::string::npos;
  EXPECT_TRUE(inference_runs_winograd);
}

// oneDNN picks a Winograd weight layout per minibatch (its blocking), and every such layout of one
// shape once looked the same to the primitive cache: the weight reorder built for a batch of 64 then
// served the short last batch of an evaluation, with the wrong blocking (found on a VGG-16 whose 16-image
// last test batch got logits in the thousands, off by ~50 in every 256-channel layer).
TEST(ConvAlgorithm, WinogradInferenceIsRightAtEveryBatchSizeInTurn) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const Shape w_shape{256, 256, 3, 3};
  const Tensor w = testkit::random_tensor(w_shape, 31, -0.05f, 0.05f);
  const Tensor b = testkit::random_tensor({256}, 32);
  ops::Conv2dState state;
  const Conv2dOptions options = same_3x3(ConvAlgoPolicy::winograd);
  autograd::NoGradGuard no_grad;
  // The layouts must really differ for the test to test anything: the weight layouts that the
  // forward primitive wants at each batch size, described as the cache key describes them.
  std::vector<std::string> layouts;
  for (const int64_t n : {64, 64, 4, 64, 4}) {
    const Shape x_shape{n, 256, 8, 8};
    const Tensor x = testkit::random_tensor(x_shape, 33 + static_cast<uint64_t>(n));
    const Tensor y = ops::conv2d(x, w, b, options, &state);
    Shape y_shape;
    const std::vector<double> expected =
        testkit::reference_conv2d(x.to_vector(), x_shape, w.to_vector(), w_shape, b.to_vector(), options, &y_shape);
    EXPECT_LE(relative_max_error(y.to_vector(), expected), kWinogradTolerance) << "batch " << n;
    ASSERT_TRUE(state.weight_in_layout.defined());
    layouts.push_back(describe(state.weight_in_layout.desc()));
  }
  EXPECT_EQ(state.choice->algorithms, kAllWinograd);
  EXPECT_NE(layouts[0], layouts[2]) << "oneDNN gave batches of 64 and 4 one Winograd weight layout: " << layouts[0];
}

// ---- fallbacks --------------------------------------------------------------------------------

TEST(ConvAlgorithm, WinogradFallsBackToDirectWhereItDoesNotApplyAndSaysWhy) {
  struct Case {
    Shape x_shape, w_shape;
    Conv2dOptions options;
    DType dtype;
    std::string reason;
  };
  Conv2dOptions stride2 = same_3x3(ConvAlgoPolicy::winograd);
  stride2.stride = {2, 2};
  Conv2dOptions pointwise;
  pointwise.algorithm = ConvAlgoPolicy::winograd;
  Conv2dOptions dilated = same_3x3(ConvAlgoPolicy::winograd);
  dilated.dilation = {2, 2};
  const std::vector<Case> cases{
      {{2, 16, 8, 8}, {16, 16, 3, 3}, stride2, DType::f32, "stride 2x2 (Winograd needs 1)"},
      {{2, 16, 8, 8}, {32, 16, 1, 1}, pointwise, DType::f32, "kernel 1x1 (Winograd needs 3x3)"},
      {{2, 16, 8, 8}, {16, 16, 3, 3}, dilated, DType::f32, "dilated kernel (Winograd needs a dense one)"},
      {{2, 16, 8, 8}, {16, 16, 3, 3}, same_3x3(ConvAlgoPolicy::winograd), DType::bf16, "bf16 (Winograd is f32 only)"},
  };
  for (const Case& c : cases) {
    const Tensor x = testkit::random_tensor(c.x_shape, 31).to_dtype(c.dtype);
    const Tensor w = testkit::random_tensor(c.w_shape, 32, -0.1f, 0.1f);
    ops::Conv2dState state;
    autograd::NoGradGuard no_grad;
    ops::conv2d(x, w, Tensor(), c.options, &state);
    ASSERT_TRUE(state.choice) << c.reason;
    EXPECT_EQ(state.choice->algorithms, kAllDirect) << c.reason;
    EXPECT_EQ(state.choice->source, "requested") << c.reason;
    EXPECT_EQ(state.choice->note, "direct: Winograd does not apply: " + c.reason);
  }
}

// ---- auto ---------------------------------------------------------------------------------------

TEST(ConvAlgorithm, AutoMeasuresEachLayerShapeOnceWhateverTheBatch) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const InjectedTimings timings(0.5);
  const int64_t before = ops::conv_algorithm_measurements();
  const Tensor w = testkit::random_tensor({24, 16, 3, 3}, 41, -0.1f, 0.1f, true);
  const auto run = [&](int64_t batch, int64_t side, ops::Conv2dState& state) {
    const Tensor x = testkit::random_tensor({batch, 16, side, side}, 42, -1, 1, true);
    autograd::backward(ops::conv2d(x, w, Tensor(), same_3x3(ConvAlgoPolicy::automatic), &state));
  };
  ops::Conv2dState first, other_batch, other_size;
  run(4, 10, first);
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 1);
  EXPECT_EQ(first.choice->source, "measured");
  EXPECT_EQ(first.choice->policy, ConvAlgoPolicy::automatic);
  EXPECT_EQ(first.choice->layer, "f32 16x10x10->24x10x10 k3x3 s1x1 p1x1 d1x1 g1 nobias");
  EXPECT_FALSE(first.choice->provisional);
  EXPECT_EQ(first.choice->algorithms, kAllWinograd);
  EXPECT_TRUE(first.choice->note.starts_with("forward winograd: winograd 0.50x direct +-")) << first.choice->note;
  EXPECT_NE(first.choice->note.find("; backward_data winograd: "), std::string::npos) << first.choice->note;
  EXPECT_NE(first.choice->note.find("; backward_weights winograd: "), std::string::npos) << first.choice->note;
  EXPECT_EQ(timings.asked.size(), 3u);  // the three passes of batch 4
  EXPECT_EQ(timings.asked[0], "f32 16x10x10->24x10x10 k3x3 s1x1 p1x1 d1x1 g1 nobias | batch 4 | forward");

  run(3, 10, other_batch);  // another batch size: the same layer, no new measurement
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 1);
  EXPECT_EQ(other_batch.choice, first.choice);

  run(4, 6, other_size);  // another image size: another layer
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 2);
  EXPECT_EQ(other_size.choice->layer, "f32 16x6x6->24x6x6 k3x3 s1x1 p1x1 d1x1 g1 nobias");
}

TEST(ConvAlgorithm, AutoDoesNotMeasureWhereWinogradCannotRun) {
  const FreshMachineStore store;
  const int64_t before = ops::conv_algorithm_measurements();
  Conv2dOptions options = same_3x3(ConvAlgoPolicy::automatic);
  options.stride = {2, 2};
  ops::Conv2dState state;
  const Tensor x = testkit::random_tensor({2, 8, 8, 8}, 51, -1, 1, true);
  const Tensor w = testkit::random_tensor({8, 8, 3, 3}, 52, -0.1f, 0.1f, true);
  autograd::backward(ops::conv2d(x, w, Tensor(), options, &state));
  EXPECT_EQ(ops::conv_algorithm_measurements(), before);
  EXPECT_EQ(state.choice->algorithms, kAllDirect);
  EXPECT_EQ(state.choice->note, "direct: Winograd does not apply: stride 2x2 (Winograd needs 1)");
  EXPECT_EQ(state.choice->source, "direct only");
}

// ---- the machine's store of auto's choices --------------------------------------------------------

namespace {

ops::ConvAlgorithm flipped(ConvAlgorithm a) {
  return a == ConvAlgorithm::winograd ? ConvAlgorithm::direct : ConvAlgorithm::winograd;
}

// One training call of a 16->16 3x3 layer on 10x10 images under auto; the choice it ran.
ops::ConvLayerChoice auto_choice_of_one_training_call(int64_t batch = 4) {
  const Tensor x = testkit::random_tensor({batch, 16, 10, 10}, 91, -1, 1, true);
  const Tensor w = testkit::random_tensor({16, 16, 3, 3}, 92, -0.1f, 0.1f, true);
  ops::Conv2dState state;
  autograd::backward(ops::conv2d(x, w, Tensor(), same_3x3(ConvAlgoPolicy::automatic), &state));
  return *state.choice;
}

const char* const kStoreLayer = "f32 16x10x10->16x10x10 k3x3 s1x1 p1x1 d1x1 g1 nobias";

std::string store_key(const std::string& passes, int64_t batch = 4) {
  return std::to_string(num_threads()) + " threads | " + passes + " | batch " + std::to_string(batch) +
         " | plain input | " + kStoreLayer;
}
const std::string kAllPasses = "forward+backward_data+backward_weights";

nlohmann::json stored_choices() {
  return nlohmann::json::parse(io::read_file(ops::machine_choice_file()))["choices"];
}

}  // namespace

// Two fresh processes on one machine choose alike: the second reads what the first measured.
// (clear_conv_algorithm_cache stands for the next process: it forgets everything but the file.)
TEST(ConvAlgorithm, ALaterProcessTakesTheChoiceTheFirstMeasuredFromTheMachinesStore) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const InjectedTimings timings(0.5);
  const int64_t before = ops::conv_algorithm_measurements();
  const ops::ConvLayerChoice first = auto_choice_of_one_training_call();
  EXPECT_EQ(first.source, "measured");
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 1);

  const auto files = store.files("conv-algorithms-");
  ASSERT_EQ(files.size(), 2u);  // the file and its .lock
  const std::filesystem::path file = ops::machine_choice_file();
  nlohmann::json stored = nlohmann::json::parse(io::read_file(file.string()));
  EXPECT_EQ(stored["machine"].get<std::string>().find(onednn_version()) != std::string::npos, true);
  const std::string key = store_key(kAllPasses);
  ASSERT_TRUE(stored["choices"].contains(key)) << stored.dump(1);
  EXPECT_EQ(ops::conv_layer_choice_from_json(stored["choices"][key].dump(), "test"), first);

  ops::clear_conv_algorithm_cache();
  const ops::ConvLayerChoice second = auto_choice_of_one_training_call();
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 1);  // not measured again
  EXPECT_EQ(second.source, "machine cache");
  EXPECT_EQ(second.algorithms, first.algorithms);
  EXPECT_EQ(second.note, first.note);  // the first process's timings

  // What the file says is what runs, whatever timing would say now: flip every pass in the file.
  stored["choices"][key]["forward"] = ops::conv_algorithm_name(flipped(first.algorithms.forward));
  stored["choices"][key]["backward_data"] = ops::conv_algorithm_name(flipped(first.algorithms.backward_data));
  stored["choices"][key]["backward_weights"] = ops::conv_algorithm_name(flipped(first.algorithms.backward_weights));
  io::write_file_atomic(file.string(), stored.dump());
  ops::clear_conv_algorithm_cache();
  const ops::ConvLayerChoice edited = auto_choice_of_one_training_call();
  EXPECT_EQ(edited.algorithms.forward, flipped(first.algorithms.forward));
  EXPECT_EQ(edited.algorithms.backward_data, flipped(first.algorithms.backward_data));
  EXPECT_EQ(edited.algorithms.backward_weights, flipped(first.algorithms.backward_weights));
  autograd::clear_tape();
}

// A choice measured at one batch does not decide another batch, the passes measured and the input's
// layout are part of the key too: a call that measures only the forward (inference) must not decide
// the backward passes of a later training run.
TEST(ConvAlgorithm, TheMachinesStoreKeysEntriesByBatchAndPassesMeasured) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const InjectedTimings timings(0.5);
  const int64_t before = ops::conv_algorithm_measurements();
  {
    autograd::NoGradGuard no_grad;
    ops::Conv2dState state;
    ops::conv2d(testkit::random_tensor({4, 16, 10, 10}, 91), testkit::random_tensor({16, 16, 3, 3}, 92),
                Tensor(), same_3x3(ConvAlgoPolicy::automatic), &state);
    EXPECT_NE(state.choice->note.find("backward_data not measured"), std::string::npos) << state.choice->note;
  }
  ops::clear_conv_algorithm_cache();
  EXPECT_EQ(auto_choice_of_one_training_call(4).source, "measured");
  ops::clear_conv_algorithm_cache();
  EXPECT_EQ(auto_choice_of_one_training_call(8).source, "measured");
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 3);
  const nlohmann::json choices = stored_choices();
  EXPECT_EQ(choices.size(), 3u) << choices.dump(1);
  EXPECT_TRUE(choices.contains(store_key("forward")));
  EXPECT_TRUE(choices.contains(store_key(kAllPasses, 4)));
  EXPECT_TRUE(choices.contains(store_key(kAllPasses, 8)));
  autograd::clear_tape();
}

// Timings that cannot decide give the prior, marked provisional, in the run and in the file. The next
// process measures the layer again instead of trusting it; once a measurement is clear, it is what
// every later process runs, without measuring.
TEST(ConvAlgorithm, AProvisionalChoiceIsMeasuredAgainByTheNextProcessUntilItIsClear) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const int64_t before = ops::conv_algorithm_measurements();
  ops::ConvLayerChoice busy;
  {
    const InjectedTimings timings(0.5, 0.001, /*others_busy=*/0.4);  // clear, but measured on a busy machine
    busy = auto_choice_of_one_training_call();
  }
  EXPECT_TRUE(busy.provisional);
  EXPECT_EQ(busy.source, "prior");
  EXPECT_EQ(busy.algorithms, kAllDirect);  // the prior of a 16-channel layer
  EXPECT_TRUE(stored_choices()[store_key(kAllPasses)]["provisional"].get<bool>());

  ops::clear_conv_algorithm_cache();
  ops::ConvLayerChoice clear;
  {
    const InjectedTimings timings(0.5);
    clear = auto_choice_of_one_training_call();
    EXPECT_EQ(timings.asked.size(), 3u);  // measured again
  }
  EXPECT_FALSE(clear.provisional);
  EXPECT_EQ(clear.source, "measured");
  EXPECT_EQ(clear.algorithms, kAllWinograd);
  EXPECT_FALSE(stored_choices()[store_key(kAllPasses)]["provisional"].get<bool>());

  ops::clear_conv_algorithm_cache();
  {
    const InjectedTimings timings(2.0, 0.001, 0.4);  // would say otherwise now: not asked
    const ops::ConvLayerChoice later = auto_choice_of_one_training_call();
    EXPECT_TRUE(timings.asked.empty());
    EXPECT_EQ(later.source, "machine cache");
    EXPECT_EQ(later.algorithms, kAllWinograd);
  }
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 2);
  autograd::clear_tape();
}

// sugar tune: re-measures even a clear entry and replaces it; --reset forgets the machine's file.
TEST(ConvAlgorithm, RemeasuringReplacesAClearEntryAndForgettingDeletesTheFile) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  {
    const InjectedTimings timings(0.5);
    EXPECT_EQ(auto_choice_of_one_training_call().algorithms, kAllWinograd);
  }
  ops::clear_conv_algorithm_cache();
  ops::set_conv_remeasure(true);
  {
    const InjectedTimings timings(1.5);
    const ops::ConvLayerChoice tuned = auto_choice_of_one_training_call();
    EXPECT_EQ(tuned.source, "measured");
    EXPECT_EQ(tuned.algorithms, kAllDirect);
  }
  // Remeasuring on a busy machine: the provisional result does not replace the clear entry.
  ops::clear_conv_algorithm_cache();
  {
    const InjectedTimings timings(0.5, 0.001, /*others_busy=*/0.5);
    const ops::ConvLayerChoice kept = auto_choice_of_one_training_call();
    EXPECT_EQ(kept.algorithms, kAllDirect);
    EXPECT_FALSE(kept.provisional);
    EXPECT_TRUE(kept.note.starts_with("kept: this measurement could not decide (")) << kept.note;
  }
  ops::set_conv_remeasure(false);
  EXPECT_EQ(stored_choices()[store_key(kAllPasses)]["forward"], "direct");
  EXPECT_FALSE(stored_choices()[store_key(kAllPasses)]["provisional"].get<bool>());

  const std::string file = ops::machine_choice_file();
  EXPECT_EQ(ops::forget_machine_choices(), file);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(ops::forget_machine_choices(), "");  // nothing left to forget
  autograd::clear_tape();
}

// The store is an input like any other. A file that is not the store's format, or another machine's,
// is moved aside to <file>.corrupt (not silently overwritten) and rebuilt; an entry that does not
// parse or holds another layer's choice is measured again and replaced. SUGAR_CACHE_DIR=off leaves no
// file and measures in every process.
TEST(ConvAlgorithm, ADamagedStoreIsMovedAsideAndMeasuredAgainAndOffKeepsNoFile) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const InjectedTimings timings(0.5);
  auto_choice_of_one_training_call();
  const std::string file = ops::machine_choice_file();
  const std::string machine = nlohmann::json::parse(io::read_file(file))["machine"];
  const std::string key = store_key(kAllPasses);
  nlohmann::json other_layer = nlohmann::json::parse(io::read_file(file));
  other_layer["choices"][key]["layer"] = "f32 16x12x12->16x12x12 k3x3 s1x1 p1x1 d1x1 g1 nobias";
  nlohmann::json not_auto = nlohmann::json::parse(io::read_file(file));  // a choice only auto may store
  not_auto["choices"][key]["policy"] = "winograd";
  const struct {
    std::string content;
    bool moved_aside;
  } damages[] = {
      {"{\"choices\": ", true},
      {"[1, 2]", true},
      {R"({"machine": "another CPU", "choices": {}})", true},
      {std::string(R"({"machine": ")") + machine + R"(", "choices": {")" + key + R"(": {"layer": 3}}})", false},
      {other_layer.dump(), false},
      {not_auto.dump(), false},
  };
  for (const auto& damage : damages) {
    std::filesystem::remove(file + ".corrupt");
    io::write_file_atomic(file, damage.content);
    ops::clear_conv_algorithm_cache();
    const int64_t before = ops::conv_algorithm_measurements();
    EXPECT_EQ(auto_choice_of_one_training_call().source, "measured") << damage.content;
    EXPECT_EQ(ops::conv_algorithm_measurements(), before + 1) << damage.content;
    EXPECT_TRUE(stored_choices().contains(key)) << damage.content;
    EXPECT_EQ(stored_choices()[key]["layer"], kStoreLayer) << damage.content;
    EXPECT_EQ(std::filesystem::exists(file + ".corrupt"), damage.moved_aside) << damage.content;
    if (damage.moved_aside) EXPECT_EQ(io::read_file(file + ".corrupt"), damage.content);
  }

  const FreshMachineStore off;
  ::setenv("SUGAR_CACHE_DIR", "off", 1);
  const int64_t before = ops::conv_algorithm_measurements();
  auto_choice_of_one_training_call();
  ops::clear_conv_algorithm_cache();
  EXPECT_EQ(auto_choice_of_one_training_call().source, "measured");
  EXPECT_EQ(ops::conv_algorithm_measurements(), before + 2);
  EXPECT_TRUE(off.files("").empty());
  EXPECT_FALSE(std::filesystem::exists("off"));
  autograd::clear_tape();
}

// Data parallelism: an agreement decides for every rank. Here it hands back a fixed choice without
// deciding here: the layer runs it and nothing is measured.
TEST(ConvAlgorithm, AnAgreementDecidesInsteadOfThisProcess) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  const InjectedTimings timings(2.0);
  const int64_t before = ops::conv_algorithm_measurements();
  ops::set_conv_choice_agreement([](const ops::ConvLayerChoice& undecided, const std::function<ops::ConvLayerChoice()>&) {
    ops::ConvLayerChoice rank0 = undecided;
    rank0.algorithms = kAllWinograd;
    rank0.source = "measured";
    rank0.note = "rank 0's";
    return rank0;
  });
  const ops::ConvLayerChoice choice = auto_choice_of_one_training_call();
  ops::set_conv_choice_agreement({});
  EXPECT_EQ(choice.algorithms, kAllWinograd);
  EXPECT_EQ(choice.layer, kStoreLayer);
  EXPECT_EQ(choice.note, "rank 0's");
  EXPECT_TRUE(timings.asked.empty());
  EXPECT_EQ(ops::conv_algorithm_measurements(), before);
  autograd::clear_tape();
}

// ---- recorded choices -----------------------------------------------------------------------------

// A resumed run pins the choices its checkpoint recorded: they win over the process's measurement,
// so the run computes as before even where timings would now pick otherwise.
TEST(ConvAlgorithm, ARecordedChoiceOverridesMeasurement) {
  if (!cpu_has_winograd()) GTEST_SKIP() << "oneDNN 2.6 has no Winograd convolution below avx512_core";
  const FreshMachineStore store;
  Tensor x = testkit::random_tensor({4, 16, 10, 10}, 61, -1, 1, true);
  const Tensor w = testkit::random_tensor({16, 16, 3, 3}, 62, -0.1f, 0.1f, true);
  const Conv2dOptions automatic = same_3x3(ConvAlgoPolicy::automatic);
  ops::Conv2dState measured;
  autograd::backward(ops::conv2d(x, w, Tensor(), automatic, &measured));
  const int64_t measurements = ops::conv_algorithm_measurements();

  // The opposite of what was measured, pass by pass.
  ops::ConvLayerChoice recorded = *measured.choice;
  recorded.algorithms = {flipped(recorded.algorithms.forward), flipped(recorded.algorithms.backward_data),
                         flipped(recorded.algorithms.backward_weights)};
  ops::Conv2dState resumed;
  resumed.pinned = recorded;
  x.zero_grad();
  const Tensor y = ops::conv2d(x, w, Tensor(), automatic, &resumed);
  autograd::backward(y);
  EXPECT_EQ(resumed.choice->algorithms, recorded.algorithms);
  EXPECT_EQ(resumed.choice->source, "recorded");
  EXPECT_EQ(ops::conv_algorithm_measurements(), measurements);
  // The forward really ran the recorded algorithm: bit for bit what that algorithm computes (in
  // training mode: Winograd's inference kernel rounds differently).
  ops::Conv2dState explicit_state;
  const Tensor expected = ops::conv2d(x, w, Tensor(),
                                      same_3x3(recorded.algorithms.forward == ConvAlgorithm::winograd
                                                   ? ConvAlgoPolicy::winograd
                                                   : ConvAlgoPolicy::direct),
                                      &explicit_state);
  EXPECT_EQ(y.to_vector(), expected.to_vector());

  // A recorded choice of another policy (the run was resumed with another train.conv_algo) or of
  // another layer shape does not apply.
  ops::Conv2dState other_policy;
  other_policy.pinned = recorded;
  ops::conv2d(x, w, Tensor(), same_3x3(ConvAlgoPolicy::direct), &other_policy);
  EXPECT_EQ(other_policy.choice->algorithms, kAllDirect);
  EXPECT_EQ(other_policy.choice->source, "requested");
  ops::Conv2dState other_layer;
  other_layer.pinned = recorded;
  other_layer.pinned->layer = "f32 16x12x12->16x12x12 k3x3 s1x1 p1x1 d1x1 g1 nobias";
  ops::conv2d(x, w, Tensor(), automatic, &other_layer);
  EXPECT_EQ(other_layer.choice, measured.choice);
  autograd::clear_tape();
}

namespace {

std::shared_ptr<nn::Sequential> two_conv_model() {
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(3, 16, 3, 1, 1, 1, 1, false), std::make_shared<nn::Conv2d>(16, 16, 3, 1, 1, 1, 1, false)});
  nn::initialize(*model, 5);
  nn::set_conv_algorithm(*model, ConvAlgoPolicy::automatic);
  return model;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sugar-conv-algo-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

}  // namespace

TEST(ConvAlgorithm, CheckpointsRecordTheChoicesAndLoadingPinsThem) {
  auto model = two_conv_model();
  const Tensor x = testkit::random_tensor({2, 3, 8, 8}, 71);
  autograd::backward((*model)(x));
  const auto choices = nn::conv_algorithm_choices(*model);
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(choices[0].first, "0");
  EXPECT_EQ(choices[1].first, "1");
  EXPECT_EQ(choices[1].second.layer, "f32 16x8x8->16x8x8 k3x3 s1x1 p1x1 d1x1 g1 nobias");

  const std::string path = temp_path("checkpoint.safetensors");
  train::save_checkpoint(path, *model, nullptr);
  const io::SafetensorsFile file = io::SafetensorsFile::read(path);
  ASSERT_TRUE(file.metadata().count("conv_algorithms"));
  EXPECT_EQ(file.metadata().at("conv_algorithms"), nn::conv_algorithm_choices_json(*model));

  auto resumed = two_conv_model();
  train::load_checkpoint(file, *resumed, nullptr);
  std::filesystem::remove(path);
  EXPECT_TRUE(nn::conv_algorithm_choices(*resumed).empty());  // pinned, not yet run
  (*resumed)(x);
  const auto reused = nn::conv_algorithm_choices(*resumed);
  ASSERT_EQ(reused.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(reused[i].second.algorithms, choices[i].second.algorithms);
    EXPECT_EQ(reused[i].second.layer, choices[i].second.layer);
    EXPECT_EQ(reused[i].second.source, "recorded");
  }
  autograd::clear_tape();
}

TEST(ConvAlgorithm, RunJsonListsEachLayersChoiceAndTheImplementations) {
  const FreshMachineStore store;
  const InjectedTimings timings(0.5);
  auto model = two_conv_model();
  (*model)(testkit::random_tensor({2, 3, 8, 8}, 73));
  autograd::clear_tape();
  const std::string path = temp_path("run.json");
  io::write_file_atomic(path, R"({"model": {"name": "two convs"}})");
  train::record_layer_implementations(path, *model, ops::ConvAlgoPolicy::automatic);
  const nlohmann::json info = nlohmann::json::parse(io::read_file(path));
  std::filesystem::remove(path);
  EXPECT_EQ(info["model"]["name"], "two convs");  // the rest of run.json is kept
  EXPECT_EQ(info["conv_algorithms"]["policy"], "auto");
  const auto choices = nn::conv_algorithm_choices(*model);
  ASSERT_EQ(info["conv_algorithms"]["layers"].size(), 2u);
  for (const auto& [name, choice] : choices) {
    const nlohmann::json& layer = info["conv_algorithms"]["layers"][name];
    EXPECT_EQ(layer["layer"], choice.layer);
    EXPECT_EQ(layer["forward"], ops::conv_algorithm_name(choice.algorithms.forward));
    EXPECT_EQ(layer["backward_data"], ops::conv_algorithm_name(choice.algorithms.backward_data));
    EXPECT_EQ(layer["backward_weights"], ops::conv_algorithm_name(choice.algorithms.backward_weights));
    EXPECT_EQ(layer["source"], "measured");
    EXPECT_EQ(layer["provisional"], false);
  }
  // oneDNN's implementation of each primitive, by cache key: the first layer's forward among them.
  bool found = false;
  for (const auto& [key, implementation] : info["layer_implementations"].items())
    if (key.starts_with("conv2d_forward_training") && key.find(to_string(Shape{2, 3, 8, 8})) != std::string::npos)
      found = !implementation.get<std::string>().empty();
  EXPECT_TRUE(found);
}

TEST(ConvAlgorithm, MalformedRecordedChoicesAreOneLineErrorsAndPinNothing) {
  auto model = two_conv_model();
  const std::string choice =
      R"({"layer": "f32 3x8x8->16x8x8 k3x3 s1x1 p1x1 d1x1 g1 nobias", "policy": "auto", "forward": "winograd",)"
      R"( "backward_data": "direct", "backward_weights": "direct", "source": "measured", "note": ""})";
  const auto error = [&](const std::string& text) {
    try {
      nn::pin_conv_algorithm_choices(*model, text, "ckpt");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("{"), "ckpt: convolution algorithm choices are not valid JSON");
  EXPECT_EQ(error("[]"), "ckpt: convolution algorithm choices are not a JSON object");
  EXPECT_EQ(error(R"({"0": )" + choice + R"(, "fc": )" + choice + "}"),
            "ckpt: convolution algorithm choice for 'fc', which is no Conv2d layer of the model");
  std::string fast = choice;
  fast.replace(fast.find("\"winograd\""), 10, "\"fast\"");
  EXPECT_EQ(error(R"({"0": )" + fast + "}"),
            "ckpt ('0'): 'forward': unknown convolution algorithm 'fast' (known: direct, winograd)");
  EXPECT_EQ(error(R"({"0": {"layer": "x"}})"), "ckpt ('0'): convolution algorithm choice has no string 'policy'");
  // Nothing was pinned by the failed calls: layer 0 decides by itself.
  (*model)(testkit::random_tensor({2, 3, 8, 8}, 72));
  EXPECT_NE(nn::conv_algorithm_choices(*model)[0].second.source, "recorded");
}

// ---- the config key ---------------------------------------------------------------------------------

TEST(ConvAlgorithm, ConfigKeyParsesAndReachesEveryConvolutionOfTheModel) {
  EXPECT_EQ(ops::parse_conv_algo_policy("auto"), ConvAlgoPolicy::automatic);
  EXPECT_EQ(ops::parse_conv_algo_policy("direct"), ConvAlgoPolicy::direct);
  EXPECT_EQ(ops::parse_conv_algo_policy("winograd"), ConvAlgoPolicy::winograd);
  EXPECT_THROW(ops::parse_conv_algo_policy("wino"), Error);

  const config::ExperimentConfig defaults = config::load_config_text("name: x\n", "x.yaml");
  EXPECT_EQ(defaults.train.conv_algo, sugar::ops::ConvAlgoPolicy::automatic);
  const config::ExperimentConfig c =
      config::load_config_text("name: x\nmodel: {name: resnet18}\ntrain: {conv_algo: winograd}\n", "x.yaml");
  EXPECT_EQ(c.train.conv_algo, sugar::ops::ConvAlgoPolicy::winograd);
  data::DataSplits splits;
  splits.num_classes = 10;
  splits.shape = {3, 8, 8};
  const std::shared_ptr<nn::Module> model = train::build_model(c, splits);
  {
    autograd::NoGradGuard no_grad;
    model->eval();
    (*model)(testkit::random_tensor({1, 3, 8, 8}, 81));
  }
  const auto choices = nn::conv_algorithm_choices(*model);
  EXPECT_EQ(choices.size(), 20u);  // ResNet-18: stem, 16 in the blocks, 3 shortcuts
  for (const auto& [name, choice] : choices) EXPECT_EQ(choice.policy, ConvAlgoPolicy::winograd) << name;
  EXPECT_EQ(nn::conv_algorithm_choices(*model)[0].second.algorithms.forward,
            cpu_has_winograd() ? ConvAlgorithm::winograd : ConvAlgorithm::direct);
}

// ---- data parallelism -----------------------------------------------------------------------------

// Two ranks (threads of one process): rank 0 decides, rank 1 gets rank 0's algorithms, provisional
// flag and source under its own layer key, without deciding.
TEST(ConvAlgorithm, RankZeroDecidesTheAlgorithmsOfEveryRank) {
  auto group = dist::make_thread_group(2);
  ops::ConvLayerChoice undecided;
  undecided.layer = kStoreLayer;
  undecided.policy = ConvAlgoPolicy::automatic;
  ops::ConvLayerChoice results[2];
  bool rank1_decided = false;
  std::thread rank1([&] {
    const ops::ConvLayerChoice mine = undecided;
    results[1] = train::rank0_conv_choice(*group[1], mine, [&] {
      rank1_decided = true;
      return mine;
    });
  });
  results[0] = train::rank0_conv_choice(*group[0], undecided, [&] {
    ops::ConvLayerChoice decided = undecided;
    decided.algorithms = {ConvAlgorithm::winograd, ConvAlgorithm::direct, ConvAlgorithm::winograd};
    decided.provisional = true;
    decided.source = "prior";
    decided.note = "rank 0's timings";
    return decided;
  });
  rank1.join();
  EXPECT_FALSE(rank1_decided);
  EXPECT_EQ(results[0].note, "rank 0's timings");
  EXPECT_EQ(results[1].algorithms, results[0].algorithms);
  EXPECT_TRUE(results[1].provisional);
  EXPECT_EQ(results[1].source, "prior");
  EXPECT_EQ(results[1].note, "decided by rank 0");
  EXPECT_EQ(results[1].layer, kStoreLayer);

  // Decisions out of step (rank 1 reached another layer): rank 1 fails instead of taking rank 0's
  // algorithms for the wrong layer.
  std::string rank1_error;
  std::thread out_of_step([&] {
    ops::ConvLayerChoice other = undecided;
    other.layer = "f32 16x12x12->16x12x12 k3x3 s1x1 p1x1 d1x1 g1 nobias";
    try {
      train::rank0_conv_choice(*group[1], other, [&] { return other; });
    } catch (const Error& e) {
      rank1_error = e.what();
    }
  });
  train::rank0_conv_choice(*group[0], undecided, [&] {
    ops::ConvLayerChoice decided = undecided;
    decided.source = "measured";
    return decided;
  });
  out_of_step.join();
  EXPECT_NE(rank1_error.find("rank 1 decides layer 'f32 16x12x12->16x12x12"), std::string::npos) << rank1_error;
}

// ---- what a run's log says ---------------------------------------------------------------------------

TEST(ConvAlgorithm, TheSummaryCountsHowChoicesWereMadeAndNamesTheProvisionalOnes) {
  const auto choice = [](const char* source, bool provisional) {
    ops::ConvLayerChoice c;
    c.layer = kStoreLayer;
    c.source = source;
    c.provisional = provisional;
    return c;
  };
  const std::vector<std::pair<std::string, ops::ConvLayerChoice>> choices = {
      {"conv1", choice("measured", false)},         {"layer1.0.conv1", choice("prior", true)},
      {"layer1.0.conv2", choice("machine cache", false)}, {"layer1.1.conv1", choice("prior", true)},
      {"layer2.0.shortcut.0", choice("direct only", false)}, {"layer2.0.conv1", choice("measured", false)}};
  EXPECT_EQ(nn::conv_algorithm_summary(choices),
            "6 convolution layers: 2 measured, 1 from this machine's store, 2 prior (provisional), 1 direct only "
            "(Winograd does not apply); "
            "provisional: layer1.0.conv1, layer1.1.conv1");
  EXPECT_EQ(nn::count_provisional(choices), 2);
  const std::string lines = nn::conv_algorithm_lines(choices, false);
  EXPECT_NE(lines.find("  layer1.0.conv1         ddd  prior*         " + std::string(kStoreLayer) + "\n"),
            std::string::npos)
      << lines;
}
