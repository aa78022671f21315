#include "sugar/saved_tensor.hpp"

#include <atomic>
#include <utility>

#include "sugar/error.hpp"
#include "sugar/profiler.hpp"

namespace sugar::autograd {

// A tensor's recipe and, once it has run, its result. `holders` counts the SavedTensors that may
// still ask: the result is dropped when the last one goes (its closure ran or the tape was cleared).
struct Rematerializer {
  std::function<Tensor()> make;  // emptied after its one run, which also frees what it captured
  Tensor values;
  int holders = 0;
};

namespace {
std::atomic<bool> recompute_on{true};
}

bool recompute_enabled() { return recompute_on.load(std::memory_order_relaxed); }
void set_recompute_enabled(bool enabled) { recompute_on.store(enabled, std::memory_order_relaxed); }

void set_recompute(const Tensor& output, std::function<Tensor()> recompute) {
  if (!recompute_enabled() || !output.defined()) return;
  auto recipe = std::make_shared<Rematerializer>();
  recipe->make = std::move(recompute);
  output.impl()->recompute = std::move(recipe);
}

bool has_recompute(const Tensor& t) {
  return recompute_enabled() && t.defined() && t.impl()->recompute != nullptr && t.impl()->recompute->make != nullptr;
}

SavedTensor::SavedTensor(const Tensor& t) {
  if (has_recompute(t)) {
    recipe_ = t.impl()->recompute;
    ++recipe_->holders;
  } else {
    tensor_ = t;
  }
}

SavedTensor::SavedTensor(const SavedTensor& other) : tensor_(other.tensor_), recipe_(other.recipe_) {
  if (recipe_) ++recipe_->holders;
}

SavedTensor::SavedTensor(SavedTensor&& other) noexcept
    : tensor_(std::move(other.tensor_)), recipe_(std::move(other.recipe_)) {}

SavedTensor& SavedTensor::operator=(SavedTensor other) noexcept {
  swap(other);
  return *this;
}

void SavedTensor::swap(SavedTensor& other) noexcept {
  std::swap(tensor_, other.tensor_);
  std::swap(recipe_, other.recipe_);
}

SavedTensor::~SavedTensor() {
  if (recipe_ && --recipe_->holders == 0) recipe_->values = Tensor();
}

Tensor SavedTensor::get() const {
  if (!recipe_) return tensor_;
  if (!recipe_->values.defined()) {
    // The recipes open no scopes of their own: all their time is charged here.
    profiler::Scope scope(profiler::OpKind::recompute);
    SUGAR_CHECK(recipe_->make != nullptr, "recompute: a saved tensor's recipe already ran and its result was freed");
    std::function<Tensor()> make = std::move(recipe_->make);
    recipe_->make = nullptr;
    recipe_->values = make();
  }
  return recipe_->values;
}

}  // namespace sugar::autograd
