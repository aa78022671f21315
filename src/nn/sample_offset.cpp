#include "sugar/nn/sample_offset.hpp"

namespace sugar::nn {
namespace {
thread_local int64_t t_sample_offset = 0;
}  // namespace

int64_t current_sample_offset() { return t_sample_offset; }

SampleOffsetGuard::SampleOffsetGuard(int64_t offset) : previous_(t_sample_offset) { t_sample_offset = offset; }
SampleOffsetGuard::~SampleOffsetGuard() { t_sample_offset = previous_; }

}  // namespace sugar::nn
