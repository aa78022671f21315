#pragma once
// A closed vocabulary: an enum's values and the words configs, files and logs use for them, in one
// table owned by the code that defines the enum (the optimizers in optim/, the dtypes in tensor.hpp,
// the convolution policies in ops/, ...). Everything else, the config's reader and writer included,
// gets the words from that table, so a value is named in one place.
//
// The owner declares, next to its enum and in its namespace, a function that argument-dependent
// lookup finds from the enum type:
//
//   enum class OptimizerKind { sgd, adam, adamw };
//   const NameTable<OptimizerKind>& names_of(OptimizerKind);   // the argument only picks the table
//
// and then anyone can write name_of(kind), find_named<OptimizerKind>("adam") or
// names_of(OptimizerKind{}).names() (for "known: sgd, adam, adamw").
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sugar {

template <class E>
class NameTable {
 public:
  // Every value once, in the order messages list them.
  NameTable(std::initializer_list<std::pair<E, std::string>> entries) : entries_(entries) {}

  // The value's word. A value missing from its table is a bug in the table (std::logic_error).
  const std::string& name(E value) const {
    for (const auto& [v, word] : entries_)
      if (v == value) return word;
    throw std::logic_error("NameTable: a value without a name");
  }
  std::optional<E> find(std::string_view word) const {
    for (const auto& [v, w] : entries_)
      if (w == word) return v;
    return std::nullopt;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> words;
    for (const auto& entry : entries_) words.push_back(entry.second);
    return words;
  }

 private:
  std::vector<std::pair<E, std::string>> entries_;
};

template <class E>
const std::string& name_of(E value) {
  return names_of(E{}).name(value);
}

template <class E>
std::optional<E> find_named(std::string_view word) {
  return names_of(E{}).find(word);
}

}  // namespace sugar
