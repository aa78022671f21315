#include "sugar/saved_tensor.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/profiler.hpp"

namespace sugar::autograd {

// A tensor's recipe and, once it has run, its result. `holders` counts the SavedTensors that may
// still ask: the result is dropped when the last one goes (its closure ran or the tape was cleared).
struct Rematerializer {
  std::function<Tensor()> make;  // emptied after its one run, which also frees what it captured
  Tensor values;
  int holders = 0;
  uint64_t version = 0;  // the output's write version when the recipe was attached
};

namespace {

thread_local bool recompute_on = true;

// The recipes attached on this thread since the tape was last emptied, so that retire_recipes() can
// drop what they captured once no backward can ask for them any more.
struct RecipeList {
  std::vector<std::weak_ptr<Rematerializer>> recipes;
  size_t prune_at = 64;  // the size at which set_recompute next forgets the recipes that are gone

  template <class Predicate>
  void forget_if(Predicate forget) {
    std::erase_if(recipes, forget);
    prune_at = std::max<size_t>(64, 2 * recipes.size());
  }
};
RecipeList& recipe_list() {
  thread_local RecipeList list;
  return list;
}

}  // namespace

bool recompute_enabled() { return recompute_on; }
void set_recompute_enabled(bool enabled) { recompute_on = enabled; }

void set_recompute(const Tensor& output, std::function<Tensor()> recompute) {
  if (!recompute_enabled() || !output.defined()) return;
  auto recipe = std::make_shared<Rematerializer>();
  recipe->make = std::move(recompute);
  recipe->version = output.version();
  RecipeList& list = recipe_list();
  list.recipes.push_back(recipe);
  if (list.recipes.size() >= list.prune_at)  // forwards without a backward: forget the dead ones
    list.forget_if([](const std::weak_ptr<Rematerializer>& r) { return r.expired(); });
  output.impl()->recompute = std::move(recipe);
}

bool has_recompute(const Tensor& t) {
  if (!recompute_enabled() || !t.defined()) return false;
  const std::shared_ptr<Rematerializer>& recipe = t.impl()->recompute;
  // Written in place since (its version moved): the recipe would give the old values.
  return recipe != nullptr && recipe->make != nullptr && recipe->version == t.version();
}

void retire_recipes() {
  // Those a SavedTensor outside the tape still holds stay listed, for a later call.
  recipe_list().forget_if([](const std::weak_ptr<Rematerializer>& weak) {
    const std::shared_ptr<Rematerializer> recipe = weak.lock();
    if (!recipe || recipe->make == nullptr) return true;
    if (recipe->holders > 0) return false;
    recipe->make = nullptr;
    return true;
  });
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
    recipe_->values = recipe_->make();
    recipe_->make = nullptr;
  }
  return recipe_->values;
}

}  // namespace sugar::autograd
