#include "sugar/text.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace sugar::text {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::vector<std::string> plausible_misspellings(std::string_view name, const std::vector<std::string>& candidates) {
  // A misspelling is within about a third of the word's letters (at least 2 edits: "lrr", "modle");
  // an abbreviation ("wino", "skip") counts as one edit away from the name it starts.
  const auto distance = [&](const std::string& candidate) {
    const bool abbreviation = name.size() >= 3 && candidate.size() > name.size() && candidate.compare(0, name.size(), name) == 0;
    return std::min(edit_distance(name, candidate), abbreviation ? size_t{1} : SIZE_MAX);
  };
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  size_t best = limit + 1;
  for (const std::string& candidate : candidates) best = std::min(best, distance(candidate));
  std::vector<std::string> near;
  if (best > limit) return near;
  for (const std::string& candidate : candidates)
    if (distance(candidate) == best && near.size() < 3) near.push_back(candidate);
  return near;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  const std::vector<std::string> near = plausible_misspellings(name, candidates);
  return near.empty() ? "" : "; did you mean " + join(near, " or ") + "?";
}

std::vector<std::string> nearest(std::string_view name, std::vector<std::string> candidates, size_t count) {
  std::vector<std::pair<size_t, size_t>> scored;  // (distance, position): a stable order for ties
  scored.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) scored.emplace_back(edit_distance(name, candidates[i]), i);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> names;
  for (size_t i = 0; i < scored.size() && names.size() < count; ++i) names.push_back(std::move(candidates[scored[i].second]));
  return names;
}

}  // namespace sugar::text
