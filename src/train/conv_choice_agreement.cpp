// Rank 0 decides the convolution algorithms of every rank (see conv_choice_agreement.hpp).
#include "sugar/train/conv_choice_agreement.hpp"

#include <array>
#include <string>

#include "sugar/error.hpp"
#include "sugar/ops/conv_algorithm_store.hpp"
#include "sugar/random.hpp"

namespace sugar::train {
namespace {

// How a choice was made, as a number the broadcast can carry.
const std::array<const char*, 6> kSources = {"requested", "measured", "machine cache", "prior", "recorded",
                                             "direct only"};

float source_index(const std::string& source) {
  for (size_t i = 0; i < kSources.size(); ++i)
    if (source == kSources[i]) return static_cast<float>(i);
  throw Error("convolution algorithm choice with an unknown source '" + source + "'");
}

float algorithm_code(ops::ConvAlgorithm a) { return a == ops::ConvAlgorithm::winograd ? 1.0f : 0.0f; }
ops::ConvAlgorithm algorithm_from(float code) {
  return code == 1.0f ? ops::ConvAlgorithm::winograd : ops::ConvAlgorithm::direct;
}

}  // namespace

ops::ConvLayerChoice rank0_conv_choice(dist::Communicator& ranks, const ops::ConvLayerChoice& undecided,
                                       const std::function<ops::ConvLayerChoice()>& decide_here) {
  // forward, backward_data, backward_weights, provisional, source, and 24 bits of the layer's key: a
  // rank that reached another layer than rank 0 (decisions out of step) fails instead of running
  // another layer's algorithms or pairing this broadcast with an unrelated collective.
  const float layer_check = static_cast<float>(hash_key(undecided.layer) & 0xFFFFFF);  // exact in a float
  std::array<float, 6> message{};
  ops::ConvLayerChoice choice = undecided;
  if (ranks.rank() == 0) {
    choice = decide_here();
    message = {algorithm_code(choice.algorithms.forward), algorithm_code(choice.algorithms.backward_data),
               algorithm_code(choice.algorithms.backward_weights), choice.provisional ? 1.0f : 0.0f,
               source_index(choice.source), layer_check};
  }
  ranks.broadcast(message.data(), static_cast<int64_t>(message.size()), 0);
  if (ranks.rank() != 0) {
    SUGAR_CHECK(message[5] == layer_check, "convolution algorithms: rank ", ranks.rank(), " decides layer '",
                undecided.layer, "' while rank 0 decided another layer (the ranks' models or input shapes differ)");
    choice.algorithms = {algorithm_from(message[0]), algorithm_from(message[1]), algorithm_from(message[2])};
    choice.provisional = message[3] == 1.0f;
    const auto source = static_cast<size_t>(message[4]);
    choice.source = source < kSources.size() ? kSources[source] : "measured";
    choice.note = "decided by rank 0";
  }
  return choice;
}

RankZeroConvChoices::RankZeroConvChoices(dist::Communicator& ranks) {
  if (ranks.size() <= 1) return;
  ops::set_conv_choice_agreement(
      [&ranks](const ops::ConvLayerChoice& undecided, const std::function<ops::ConvLayerChoice()>& decide_here) {
        return rank0_conv_choice(ranks, undecided, decide_here);
      });
  installed_ = true;
}

RankZeroConvChoices::~RankZeroConvChoices() {
  if (installed_) ops::set_conv_choice_agreement({});
}

}  // namespace sugar::train
