#pragma once
// What a module whose training calls draw random numbers shares (dropout masks, rrelu slopes, stochastic
// depth): the seed nn::initialize gave it and the count of training calls so far, which keys each
// call's stream, RandomStream(seed, "<kind>/" + path + "/" + call). Checkpoints save and restore the
// count (train/checkpoint.cpp finds every module of this kind), so a resumed run draws exactly what an
// uninterrupted one would.
#include <cstdint>
#include <string>

#include "sugar/random.hpp"

namespace sugar::nn {

class RandomCalls {
 public:
  virtual ~RandomCalls() = default;
  uint64_t calls() const { return calls_; }
  void set_calls(uint64_t calls) { calls_ = calls; }

 protected:
  void reset_calls(uint64_t seed) {
    seed_ = seed;
    calls_ = 0;
  }
  // The stream of this call ("dropout/features.3/17"), counting it.
  RandomStream next_stream(const std::string& kind, const std::string& path) {
    return RandomStream(seed_, kind + "/" + path + "/" + std::to_string(calls_++));
  }

  uint64_t seed_ = 0;
  uint64_t calls_ = 0;
};

}  // namespace sugar::nn
