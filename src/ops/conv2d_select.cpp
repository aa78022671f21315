// Picks the algorithm of each convolution pass (see conv_algorithm.hpp for the policies): a layer's
// pinned choice, its last choice, the process's cache of decided layer shapes, or a decision now
// (for auto, interleaved timings of both algorithms on the call's real tensors, turned into a choice
// by conv_decision.hpp's rule).
#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "conv2d_primitives.hpp"
#include "machine_load.hpp"
#include "sugar/autograd.hpp"
#include "sugar/ops/conv_algorithm_store.hpp"
#include "sugar/ops/conv_decision.hpp"
#include "sugar/runtime.hpp"

namespace sugar::ops {
namespace conv_detail {
namespace {

enum Pass { kForward, kBackwardData, kBackwardWeights, kPasses };
const char* const kPassNames[kPasses] = {"forward", "backward_data", "backward_weights"};

struct DecisionCache {
  std::mutex mutex;
  std::unordered_map<std::string, ConvLayerChoice> entries;  // by policy name + "|" + layer key
  int64_t measurements = 0;
  ConvChoiceAgreement agreement;
  ConvTimingSource timing_source;
};

DecisionCache& decision_cache() {
  static DecisionCache cache;
  return cache;
}

ConvAlgorithm& pass_algorithm(ConvPassAlgorithms& a, int pass) {
  return pass == kForward ? a.forward : pass == kBackwardData ? a.backward_data : a.backward_weights;
}
ConvAlgorithm pass_algorithm(const ConvPassAlgorithms& a, int pass) {
  return pass == kForward ? a.forward : pass == kBackwardData ? a.backward_data : a.backward_weights;
}

void append_note(std::string& note, const std::string& part) { note += (note.empty() ? "" : "; ") + part; }

// True when oneDNN can create pass `pass` of geometry g (with g's algorithm); the primitive stays cached.
bool available(const ConvGeometry& g, int pass) {
  try {
    if (pass == kForward) {
      forward_training_primitive(g);
      forward_inference_primitive(g);
    } else if (pass == kBackwardData) {
      backward_data_primitive(g);
    } else {
      backward_weights_primitive(g);
    }
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

double run_ms(const std::function<void()>& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// kTimedPairs pairs after one untimed run of each (page faults, cold caches). The order within a pair
// alternates, so that neither candidate always runs on the caches the other warmed.
PassTimings interleaved_timings(const std::function<void()>& direct, const std::function<void()>& winograd) {
  direct();
  winograd();
  PassTimings t;
  const OtherProcessesLoad load;
  for (int i = 0; i < kTimedPairs; ++i) {
    if (i % 2 == 0) {
      t.direct_ms.push_back(run_ms(direct));
      t.winograd_ms.push_back(run_ms(winograd));
    } else {
      t.winograd_ms.push_back(run_ms(winograd));
      t.direct_ms.push_back(run_ms(direct));
    }
  }
  t.others_busy = load.share();
  return t;
}

// The tensors a measurement runs on: the call's input and weight as they are, and the layouts the
// neighbours of a direct convolution would hand over and expect.
struct MeasureInputs {
  const Tensor& x;
  const Tensor& weight;
  const Tensor& bias;
  memory::desc dst_reference;  // what the direct forward produces (and its backward takes as gradient)
  Tensor grad_y;               // a gradient in that layout
  bool training;
};

// One run of pass `pass` of g as conv2d and autograd would run it, with the reorders it forces.
// `inference_weights`: for an inference forward, the weight already in the primitive's layout, as
// the layer's Conv2dState keeps it from batch to batch (Winograd's weight transform is costly and
// would otherwise be timed on every run as if evaluation paid it per batch).
void run_pass(const ConvGeometry& g, int pass, const MeasureInputs& in, const Tensor& inference_weights = {}) {
  if (pass == kForward) {
    const auto& fwd = in.training ? forward_training_primitive(g) : forward_inference_primitive(g);
    const Tensor src = in.x.to_desc(fwd.pd.src_desc());
    const Tensor weights = inference_weights.defined() ? inference_weights
                                                       : weight_in_layout(in.weight, g, fwd.pd.weights_desc());
    const Tensor y = Tensor::from_desc(fwd.pd.dst_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                         {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                         {DNNL_ARG_DST, y.memory_handle()}};
    Tensor bias;
    if (g.has_bias) {
      bias = in.bias.to_desc(fwd.pd.bias_desc());
      args[DNNL_ARG_BIAS] = bias.memory_handle();
    }
    execute_primitive(fwd.primitive, args);
    static_cast<void>(y.to_desc(in.dst_reference));  // what the next layer would reorder
  } else if (pass == kBackwardData) {
    const auto& bwd = backward_data_primitive(g);
    const Tensor diff_dst = in.grad_y.to_desc(bwd.pd.diff_dst_desc());
    const Tensor weights = weight_in_layout(in.weight, g, bwd.pd.weights_desc());
    const Tensor diff_src = Tensor::from_desc(bwd.pd.diff_src_desc());
    execute_primitive(bwd.primitive, {{DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                      {DNNL_ARG_WEIGHTS, weights.memory_handle()},
                                      {DNNL_ARG_DIFF_SRC, diff_src.memory_handle()}});
    static_cast<void>(diff_src.to_desc(in.x.desc()));  // accumulate_grad's reorder to x's layout
  } else {
    const auto& bwd = backward_weights_primitive(g);
    const Tensor src = in.x.to_desc(bwd.pd.src_desc());
    const Tensor diff_dst = in.grad_y.to_desc(bwd.pd.diff_dst_desc());
    const Tensor diff_weights = Tensor::from_desc(bwd.pd.diff_weights_desc());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.memory_handle()},
                                         {DNNL_ARG_DIFF_DST, diff_dst.memory_handle()},
                                         {DNNL_ARG_DIFF_WEIGHTS, diff_weights.memory_handle()}};
    Tensor diff_bias;
    if (g.has_bias) {
      diff_bias = Tensor::from_desc(bwd.pd.diff_bias_desc());
      args[DNNL_ARG_DIFF_BIAS] = diff_bias.memory_handle();
    }
    execute_primitive(bwd.primitive, args);
    static_cast<void>(diff_weights.to_plain());  // the optimizer's plain gradient
  }
}

std::string milliseconds(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", ms);
  return buffer;
}

// The passes a call runs: the forward always, the backward passes when it records for autograd.
struct PassesNeeded {
  bool pass[kPasses];
  bool training() const { return pass[kBackwardData] || pass[kBackwardWeights]; }
  // "forward+backward_weights": part of the machine store's key, since a pass not measured stays direct.
  std::string names() const {
    std::string text;
    for (int p = 0; p < kPasses; ++p)
      if (pass[p]) text += (text.empty() ? "" : "+") + std::string(kPassNames[p]);
    return text;
  }
};

PassesNeeded passes_needed(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const bool training = autograd::needs_grad({x, weight, bias});
  return {{true, training && x.requires_grad(),
           training && (weight.requires_grad() || (bias.defined() && bias.requires_grad()))}};
}

// auto: times both algorithms on each pass this call runs and applies the rule; the passes this call
// does not run stay direct. The choice is provisional when any pass's rule could not decide.
ConvLayerChoice measure(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const PassesNeeded& passes, ConvLayerChoice choice) {
  const bool training = passes.training();
  const bool* needed = passes.pass;
  const ConvGeometry direct = with_algorithm(g, ConvAlgorithm::direct);
  const ConvGeometry winograd = with_algorithm(g, ConvAlgorithm::winograd);
  const ConvAlgorithm prior = prior_algorithm(g.src[1], g.dst[2], g.dst[3]);
  ConvTimingSource timing_source;
  {
    std::lock_guard<std::mutex> lock(decision_cache().mutex);
    timing_source = decision_cache().timing_source;
  }
  autograd::NoGradGuard no_grad;
  const memory::desc dst_reference = forward_training_primitive(direct).pd.dst_desc();
  const MeasureInputs in{x, weight, bias, dst_reference, Tensor::from_desc(dst_reference), training};
  std::string decided, skipped;
  for (int pass = 0; pass < kPasses; ++pass) {
    if (!needed[pass]) {
      append_note(skipped, std::string(kPassNames[pass]) + " not measured (the first call does not run it)");
      continue;
    }
    if (!available(winograd, pass)) {  // nothing to compare (a CPU below avx512_core): no timing
      append_note(skipped, std::string(kPassNames[pass]) + " direct: oneDNN has no Winograd for it here");
      continue;
    }
    PassTimings timings;
    if (timing_source) {
      timings = timing_source(choice.layer + " | batch " + std::to_string(g.src[0]), kPassNames[pass]);
    } else {
      Tensor direct_weights, winograd_weights;  // evaluation: reordered once, as the layer keeps them
      if (pass == kForward && !training) {
        direct_weights = weight_in_layout(weight, direct, forward_inference_primitive(direct).pd.weights_desc());
        winograd_weights = weight_in_layout(weight, winograd, forward_inference_primitive(winograd).pd.weights_desc());
      }
      timings = interleaved_timings([&] { run_pass(direct, pass, in, direct_weights); },
                                    [&] { run_pass(winograd, pass, in, winograd_weights); });
    }
    const PassDecision decision = decide_pass(timings, prior);
    pass_algorithm(choice.algorithms, pass) = decision.algorithm;
    choice.provisional = choice.provisional || decision.provisional;
    append_note(decided, std::string(kPassNames[pass]) + " " + conv_algorithm_name(decision.algorithm) + ": " +
                             decision.reason + " (median ms " + milliseconds(decision.direct_median_ms) + "/" +
                             milliseconds(decision.winograd_median_ms) + ")");
  }
  // Nothing timed (no pass has Winograd here): the choice is direct by necessity, not by measurement.
  choice.source = decided.empty() ? "direct only" : choice.provisional ? "prior" : "measured";
  choice.note = decided;
  if (!skipped.empty()) append_note(choice.note, skipped);
  std::lock_guard<std::mutex> lock(decision_cache().mutex);
  ++decision_cache().measurements;
  return choice;
}

// The input's layout in the machine store's key: the reorders a candidate forces depend on it. A plain
// input (the first layer, or a model that hands plain tensors on) and a blocked one (what the
// previous convolution produced) are told apart; blocked layouts are whatever oneDNN prefers here.
const char* input_layout(const Tensor& x) { return x.is_plain() ? "plain input" : "blocked input"; }

// A decision for a layer shape under policy winograd or auto; cached per process.
ConvLayerChoice decide(const ConvGeometry& g, ConvAlgoPolicy policy, const std::string& key, const Tensor& x,
                       const Tensor& weight, const Tensor& bias) {
  const std::string cache_key = std::string(conv_algo_policy_name(policy)) + "|" + key;
  DecisionCache& cache = decision_cache();
  ConvChoiceAgreement agreement;
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.entries.find(cache_key); it != cache.entries.end()) return it->second;
    agreement = cache.agreement;
  }
  ConvLayerChoice choice;
  choice.layer = key;
  choice.policy = policy;
  choice.source = "requested";
  if (const std::string reason = winograd_unsuitable_reason(g); !reason.empty()) {
    if (policy == ConvAlgoPolicy::automatic) choice.source = "direct only";
    choice.note = "direct: Winograd does not apply: " + reason;
  } else if (policy == ConvAlgoPolicy::winograd) {
    const ConvGeometry winograd = with_algorithm(g, ConvAlgorithm::winograd);
    for (int pass = 0; pass < kPasses; ++pass) {
      if (available(winograd, pass)) pass_algorithm(choice.algorithms, pass) = ConvAlgorithm::winograd;
      else append_note(choice.note, std::string(kPassNames[pass]) + " falls back to direct: oneDNN has no Winograd for it here");
    }
  } else {
    // The machine store's key: everything the timings depend on besides the machine itself.
    const PassesNeeded passes = passes_needed(x, weight, bias);
    const std::string machine_key = std::to_string(num_threads()) + " threads | " + passes.names() + " | batch " +
                                    std::to_string(g.src[0]) + " | " + input_layout(x) + " | " + key;
    const auto decide_here = [&] {
      const ConvGeometry winograd = with_algorithm(g, ConvAlgorithm::winograd);
      const auto usable = [&](const ConvLayerChoice& stored) {
        for (int pass = 0; pass < kPasses; ++pass)
          if (pass_algorithm(stored.algorithms, pass) == ConvAlgorithm::winograd &&
              !available(winograd, pass))
            return false;
        return true;
      };
      return machine_cached_choice(machine_key, key, usable,
                                   [&] { return measure(g, x, weight, bias, passes, choice); });
    };
    choice = agreement ? agreement(choice, decide_here) : decide_here();
  }
  std::lock_guard<std::mutex> lock(cache.mutex);
  return cache.entries.emplace(cache_key, choice).first->second;  // the first one stored wins
}

// A recorded choice, with any Winograd pass this machine cannot run turned direct (and said so).
ConvLayerChoice checked_recorded(const ConvGeometry& g, ConvLayerChoice choice) {
  choice.source = "recorded";
  const ConvGeometry winograd = with_algorithm(g, ConvAlgorithm::winograd);
  for (int pass = 0; pass < kPasses; ++pass) {
    ConvAlgorithm& a = pass_algorithm(choice.algorithms, pass);
    if (a == ConvAlgorithm::winograd && !available(winograd, pass)) {
      a = ConvAlgorithm::direct;
      append_note(choice.note, std::string("recorded winograd for ") + kPassNames[pass] +
                                   " is unavailable here: direct");
    }
  }
  return choice;
}

}  // namespace

ConvPassAlgorithms choose_algorithms(const ConvGeometry& g, const Tensor& x, const Tensor& weight,
                                     const Tensor& bias, const Conv2dOptions& options, Conv2dState* state) {
  const ConvAlgoPolicy policy = options.algorithm.value_or(ConvAlgoPolicy::direct);
  if (state == nullptr && policy == ConvAlgoPolicy::direct) return {};
  const std::string key = layer_key(g);
  if (state != nullptr && state->choice && state->choice->layer == key && state->choice->policy == policy)
    return state->choice->algorithms;
  ConvLayerChoice choice;
  if (state != nullptr && state->pinned && state->pinned->layer == key && state->pinned->policy == policy) {
    choice = checked_recorded(g, *state->pinned);
  } else if (policy == ConvAlgoPolicy::direct) {
    choice.layer = key;
    choice.policy = policy;
    choice.source = "requested";
  } else {
    choice = decide(g, policy, key, x, weight, bias);
  }
  if (state != nullptr) state->choice = choice;
  return choice.algorithms;
}

}  // namespace conv_detail

void clear_conv_algorithm_cache() {
  auto& cache = conv_detail::decision_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.entries.clear();
}

int64_t conv_algorithm_measurements() {
  auto& cache = conv_detail::decision_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  return cache.measurements;
}

void set_conv_choice_agreement(ConvChoiceAgreement agreement) {
  auto& cache = conv_detail::decision_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.agreement = std::move(agreement);
}

void set_conv_timing_source_for_tests(ConvTimingSource source) {
  auto& cache = conv_detail::decision_cache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.timing_source = std::move(source);
}

}  // namespace sugar::ops
