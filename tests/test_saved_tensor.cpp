// Recomputed activations (sugar/saved_tensor.hpp): a saved tensor with a recipe keeps no storage,
// runs its recipe once, keeps the result exactly as long as a holder may still ask, and a conv ->
// batch-norm -> activation -> conv chain computes the same gradients, bit for bit, while keeping
// fewer bytes from the forward to the backward.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sugar/activations/apply.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/batch_norm.hpp"
#include "sugar/ops/conv2d.hpp"
#include "sugar/profiler.hpp"
#include "sugar/saved_tensor.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;
using activations::ActivationSpec;
using autograd::SavedTensor;
using namespace sugar::testkit;

namespace {

class RecomputeMode {
 public:
  explicit RecomputeMode(bool on) : previous_(autograd::recompute_enabled()) { autograd::set_recompute_enabled(on); }
  ~RecomputeMode() { autograd::set_recompute_enabled(previous_); }

 private:
  bool previous_;
};

size_t live_bytes() { return tensor_memory().live_bytes; }


const Shape kMiB{256, 1024};  // 1 MiB of f32
constexpr size_t kMiBBytes = 256 * 1024 * 4;

}  // namespace

TEST(SavedTensor, WithoutARecipeKeepsTheTensorItself) {
  const Tensor t = Tensor::full({4}, 2.0f);
  const SavedTensor saved(t);
  EXPECT_FALSE(saved.holds_recipe());
  EXPECT_TRUE(saved.get().same(t));
  EXPECT_FALSE(SavedTensor().defined());
  EXPECT_FALSE(SavedTensor(Tensor()).defined());
}

TEST(SavedTensor, ARecipeRunsOnceOnFirstUseAndItsResultLivesWhileAHolderRemains) {
  const RecomputeMode on(true);
  const size_t before = live_bytes();
  int runs = 0;
  SavedTensor first, second;
  {
    const Tensor t = Tensor::full(kMiB, 3.0f);
    autograd::set_recompute(t, [&runs] {
      ++runs;
      return Tensor::full(kMiB, 3.0f);
    });
    EXPECT_TRUE(autograd::has_recompute(t));
    first = SavedTensor(t);
    second = first;
    EXPECT_TRUE(first.holds_recipe());
    EXPECT_EQ(live_bytes(), before + kMiBBytes);
  }
  EXPECT_EQ(live_bytes(), before);  // only the recipe is kept
  EXPECT_EQ(runs, 0);
  const std::vector<float> values = first.get().to_vector();
  EXPECT_EQ(values, std::vector<float>(256 * 1024, 3.0f));
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(second.get().same(first.get()));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(live_bytes(), before + kMiBBytes);
  first = SavedTensor();  // one holder left: the result stays
  EXPECT_EQ(live_bytes(), before + kMiBBytes);
  second = SavedTensor();
  EXPECT_EQ(live_bytes(), before);
}

TEST(SavedTensor, ARecipeReleasesWhatItCapturedOnceItRan) {
  const RecomputeMode on(true);
  // y's recipe reads b's recipe: once y is recomputed, b's result is not kept for y's sake.
  const size_t before = live_bytes();
  SavedTensor saved_y;
  {
    const Tensor b = Tensor::full(kMiB, -1.0f);
    autograd::set_recompute(b, [] { return Tensor::full(kMiB, -1.0f); });
    const Tensor y = Tensor::full(kMiB, 2.0f);
    autograd::set_recompute(y, [saved_b = SavedTensor(b)] {
      const std::vector<float> v = saved_b.get().to_vector();
      return Tensor::full(kMiB, -2.0f * v[0]);
    });
    saved_y = SavedTensor(y);
  }
  EXPECT_EQ(live_bytes(), before);
  EXPECT_EQ(saved_y.get().to_vector()[7], 2.0f);
  EXPECT_EQ(live_bytes(), before + kMiBBytes);  // y's values only
  EXPECT_FALSE(autograd::has_recompute(Tensor::full({1}, 0.0f)));
}

TEST(SavedTensor, ATensorWrittenInPlaceAfterItsRecipeIsSavedAsItself) {
  const RecomputeMode on(true);
  Tensor t = Tensor::full({4}, 1.0f);
  autograd::set_recompute(t, [] { return Tensor::full({4}, 1.0f); });
  EXPECT_TRUE(autograd::has_recompute(t));
  t.fill_(5.0f);  // the recipe would give 1s
  EXPECT_FALSE(autograd::has_recompute(t));
  const SavedTensor saved(t);
  EXPECT_FALSE(saved.holds_recipe());
  EXPECT_EQ(saved.get().to_vector(), std::vector<float>(4, 5.0f));
}

TEST(SavedTensor, EmptyingTheTapeRetiresRecipesNoSavedTensorHolds) {
  // A forward output kept after the backward must not keep its recipe's inputs alive.
  const RecomputeMode on(true);
  const Tensor kept = Tensor::full({4}, 2.0f);
  const Tensor held = Tensor::full({4}, 3.0f);
  {
    const Tensor kept_input = Tensor::full(kMiB, 1.0f);
    const Tensor held_input = Tensor::full(kMiB, 1.0f);
    autograd::set_recompute(kept, [kept_input] { return Tensor::full({4}, 2.0f); });
    autograd::set_recompute(held, [held_input] { return Tensor::full({4}, 3.0f); });
  }
  const size_t with_inputs = live_bytes();
  {
    const SavedTensor saved(held);
    autograd::clear_tape();
    EXPECT_FALSE(autograd::has_recompute(kept));
    EXPECT_TRUE(autograd::has_recompute(held));
    EXPECT_EQ(live_bytes(), with_inputs - kMiBBytes);  // kept's input is gone, held's stays for `saved`
  }
  autograd::clear_tape();  // no holder any more
  EXPECT_FALSE(autograd::has_recompute(held));
  EXPECT_EQ(live_bytes(), with_inputs - 2 * kMiBBytes);
}

TEST(SavedTensor, WhenRecomputationIsOffTensorsAreSavedAsThemselves) {
  const RecomputeMode off(false);
  const Tensor t = Tensor::full({4}, 1.0f);
  autograd::set_recompute(t, [] { return Tensor::full({4}, 1.0f); });
  EXPECT_FALSE(autograd::has_recompute(t));
  const SavedTensor saved(t);
  EXPECT_FALSE(saved.holds_recipe());
  EXPECT_TRUE(saved.get().same(t));
}

TEST(Recompute, BatchNormOutputIsRecomputedBitForBit) {
  // Plain and blocked f32, bf16, running statistics (evaluation with gradients), no affine parameters.
  const RecomputeMode on(true);
  struct Case {
    const char* name;
    bool blocked, bf16, training, affine;
  };
  for (const Case& c : {Case{"plain", false, false, true, true}, Case{"blocked", true, false, true, true},
                        Case{"bf16", true, true, true, true}, Case{"running statistics", true, false, false, true},
                        Case{"no affine", false, false, true, false}}) {
    const Shape shape{6, 20, 5, 7};
    Tensor x = c.blocked ? random_tensor_in(blocked16(shape), 11, -3.0f, 5.0f) : random_tensor(shape, 11, -3.0f, 5.0f);
    if (c.bf16) x = x.to_dtype(DType::bf16);
    x.set_requires_grad(true);
    const Tensor gamma = c.affine ? random_tensor({20}, 12, 0.5f, 1.5f, true) : Tensor();
    const Tensor beta = c.affine ? random_tensor({20}, 13, -0.5f, 0.5f, true) : Tensor();
    ops::BatchNormOptions options;
    options.training = c.training;
    const Tensor y = ops::batch_norm2d(x, gamma, beta, random_tensor({20}, 14, -0.5f, 0.5f),
                                       random_tensor({20}, 15, 0.5f, 2.0f), options);
    const SavedTensor saved(y);
    ASSERT_TRUE(saved.holds_recipe()) << c.name;
    const Tensor again = saved.get();
    EXPECT_FALSE(again.same(y));
    EXPECT_EQ(again.desc(), y.desc()) << c.name;
    EXPECT_EQ(again.to_vector(), y.to_vector()) << c.name;
    autograd::clear_tape();
  }
}

namespace {

struct ChainRun {
  std::vector<std::vector<float>> grads;  // x, conv1 weight, gamma, beta, conv2 weight
  size_t saved_bytes = 0;                 // held from the forward to the backward, besides the output
  size_t activation_bytes = 0;            // one [N, C, H, W] intermediate
  int64_t recompute_calls = 0;            // profiler scopes of kind recompute (nested ones merge)
};

// x -> conv -> batch-norm -> activation -> conv, back-propagated from a fixed gradient.
ChainRun run_chain(const std::string& activation, bool recompute) {
  const RecomputeMode mode(recompute);
  const Tensor x = random_tensor({4, 8, 10, 10}, 1, -1.0f, 1.0f, true);
  const Tensor w1 = random_tensor({16, 8, 3, 3}, 2, -0.3f, 0.3f, true);
  const Tensor gamma = random_tensor({16}, 3, 0.5f, 1.5f, true);
  const Tensor beta = random_tensor({16}, 4, -0.2f, 0.2f, true);
  const Tensor w2 = random_tensor({8, 16, 3, 3}, 5, -0.3f, 0.3f, true);
  const Tensor running_mean = Tensor::zeros({16}), running_var = Tensor::full({16}, 1.0f);
  const ActivationSpec spec = ActivationSpec::parse(activation);
  ops::Conv2dOptions same;
  same.padding = {1, 1};

  ChainRun run;
  profiler::set_enabled(true);
  profiler::reset();
  const size_t before = live_bytes();
  Tensor z;
  {
    const Tensor c = ops::conv2d(x, w1, Tensor(), same);
    const Tensor b = ops::batch_norm2d(c, gamma, beta, running_mean, running_var, {});
    const Tensor y = activations::apply_activation(spec, b, true);
    z = ops::conv2d(y, w2, Tensor(), same);
    run.activation_bytes = y.bytes();
  }
  run.saved_bytes = live_bytes() - before - z.bytes();
  autograd::backward(z, random_tensor_in(z.desc(), 6));
  run.recompute_calls = profiler::totals().calls[static_cast<size_t>(profiler::OpKind::recompute)];
  profiler::set_enabled(false);
  for (const Tensor* t : {&x, &w1, &gamma, &beta, &w2}) run.grads.push_back(t->grad().to_vector());
  return run;
}

}  // namespace

TEST(Recompute, ConvBatchNormActivationChainHasTheSameGradientsAndKeepsLess) {
  // The next convolution reads the activation's output; relu's backward reads it too, silu's and
  // sugar's read the activation's input. Without recomputation the conv output is kept plus one
  // activation-sized tensor (relu) or two (silu, sugar); with it, the conv output alone.
  for (const auto& [activation, kept_without] :
       std::vector<std::pair<std::string, int>>{{"relu", 1}, {"silu", 2}, {"sugar", 2}}) {
    const ChainRun plain = run_chain(activation, false);
    const ChainRun recomputed = run_chain(activation, true);
    ASSERT_EQ(plain.grads.size(), recomputed.grads.size());
    for (size_t i = 0; i < plain.grads.size(); ++i)
      EXPECT_EQ(plain.grads[i], recomputed.grads[i]) << activation << ", gradient " << i;
    EXPECT_GE(plain.saved_bytes - recomputed.saved_bytes, kept_without * plain.activation_bytes) << activation;
    EXPECT_LT(plain.saved_bytes - recomputed.saved_bytes, (kept_without + 1) * plain.activation_bytes) << activation;
    // One recomputation (the activation's, running the batch-norm's inside it), shared by the
    // activation's backward and the second convolution's backward-weights.
    EXPECT_EQ(plain.recompute_calls, 0) << activation;
    EXPECT_EQ(recomputed.recompute_calls, 1) << activation;
  }
}
