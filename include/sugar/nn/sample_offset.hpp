#pragma once
// Data parallelism and per-element randomness. Dropout masks and RReLU slopes are drawn by logical
// element index within a call; a rank that holds samples [k, k + n) of a global batch must draw what
// one process draws for those samples, not what it draws for samples [0, n) (which every rank would
// then share: the same mask for each rank's first image). The trainer sets the offset of this
// process's first sample around each training forward; random modules start their draws at
// offset * (elements per sample). Per thread; 0 outside a guard.
#include <cstdint>

namespace sugar::nn {

int64_t current_sample_offset();

class SampleOffsetGuard {
 public:
  explicit SampleOffsetGuard(int64_t offset);
  ~SampleOffsetGuard();
  SampleOffsetGuard(const SampleOffsetGuard&) = delete;
  SampleOffsetGuard& operator=(const SampleOffsetGuard&) = delete;

 private:
  int64_t previous_;
};

}  // namespace sugar::nn
