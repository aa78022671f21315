#include "sugar/train/nonfinite.hpp"

#include <cstdint>
#include <cstring>

#include "sugar/error.hpp"

namespace sugar::train {
namespace {

// A float is NaN or Inf exactly when its exponent bits are all ones. Integer tests vectorise, and the
// loop has no early exit, so a scan over a few million gradients costs a few milliseconds at most.
bool finite_f32(const float* values, int64_t count) {
  uint32_t any_special = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof bits);
    any_special |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return any_special == 0;
}

}  // namespace

bool all_finite(const Tensor& t) {
  if (!t.defined()) return true;
  if (t.dtype() == DType::f32 && t.is_plain()) return finite_f32(t.data<float>(), t.numel());
  const Tensor plain = t.to_desc(plain_desc(t.shape(), DType::f32));
  return finite_f32(plain.data<float>(), plain.numel());
}

std::optional<std::string> first_nonfinite_gradient(const nn::NamedTensors& params) {
  for (const auto& [name, param] : params) {
    const Tensor grad = param.grad();
    if (grad.defined() && !all_finite(grad)) return name;
  }
  return std::nullopt;
}

StateSnapshot::StateSnapshot(nn::Module& model)
    : buffers_(model.named_buffers()),
      counters_(model.named_counters()),
      saved_buffers_(buffers_.size()),
      saved_counters_(counters_.size()) {}

void StateSnapshot::save() {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const Tensor& buffer = buffers_[i].second;
    saved_buffers_[i].resize(buffer.bytes());
    std::memcpy(saved_buffers_[i].data(), buffer.raw_data(), buffer.bytes());
  }
  for (size_t i = 0; i < counters_.size(); ++i) saved_counters_[i] = *counters_[i].second;
  saved_ = true;
}

void StateSnapshot::restore() const {
  SUGAR_CHECK(saved_, "StateSnapshot::restore without a save");
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const Tensor& buffer = buffers_[i].second;
    SUGAR_CHECK(buffer.bytes() == saved_buffers_[i].size(), "StateSnapshot: buffer '", buffers_[i].first,
                "' changed size since it was saved");
    std::memcpy(buffer.raw_data(), saved_buffers_[i].data(), buffer.bytes());
    buffer.bump_version();  // written in place: caches derived from it (folded batch norms) refresh
  }
  for (size_t i = 0; i < counters_.size(); ++i) *counters_[i].second = saved_counters_[i];
}

}  // namespace sugar::train
