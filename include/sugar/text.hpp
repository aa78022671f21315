#pragma once
// Small text helpers that error messages everywhere need: joining names, and finding the names a
// mistyped one was probably meant to be. The bottom layer (it depends on nothing of Sugar's), so that
// config, models, data and activations share one copy instead of each keeping its own.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sugar::text {

// "a, b, c" (or "a or b" with separator " or ").
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Levenshtein distance: the fewest single-character insertions, deletions and substitutions.
size_t edit_distance(std::string_view a, std::string_view b);

// Up to three of `candidates` nearest to `name`, when near enough to be a plausible misspelling (within
// about a third of its letters, at least 2 edits; an abbreviation of 3 or more letters counts as one
// edit from the name it starts); empty otherwise. For "did you mean" after an unknown key or value.
std::vector<std::string> plausible_misspellings(std::string_view name, const std::vector<std::string>& candidates);

// "; did you mean a or b?" for the plausible misspellings of `name`, or "" when there are none.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

// The `count` candidates nearest to `name` by edit distance, however far (ties keep the candidates'
// order): for listing alternatives when every name is worth showing, e.g. after an unknown model.
std::vector<std::string> nearest(std::string_view name, std::vector<std::string> candidates, size_t count);

}  // namespace sugar::text
