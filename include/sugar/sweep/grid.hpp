#pragma once
// Sweep grids: a config's `sweep:` axes expanded into cells, and the name of each cell's run directory.
//
//   sweep:
//     model.activation: [relu, "sugar(surrogate=bsilu)", "sugar(surrogate=nelu, alpha=0.1)"]
//     seed: [0, 1, 2, 3, 4]
//
// Expansion: the Cartesian product, axes in file order, the last axis varying fastest (like nested
// loops written in file order), so cell 0 is (relu, 0), cell 1 (relu, 1), ..., cell 5
// (sugar(surrogate=bsilu), 0), cell 14 (sugar(surrogate=nelu, alpha=0.1), 4). Cell indices are what
// `sugar sweep --cell K` and job arrays refer to; they change when an axis or a value is added in the
// middle, the directory names below do not.
//
// Naming rule (cell_name): a cell's run directory is <runs>/<config name>/<cell name>, where the cell
// name joins one "<label>=<value>" part per axis, in axis order, with "__":
//   - label: the shortest dot-separated tail of the key path that no other axis's key path ends with:
//     model.activation -> activation, seed -> seed; axes model.name and data.name -> model.name and
//     data.name.
//   - value: the value as written in the config file (or --set sweep.<key>=[...]), so the name reads
//     like the grid, e.g. activation=sugar(surrogate=bsilu) rather than the canonical
//     sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all), and does not change when a new
//     Sugar version fills in more defaults. Bytes outside [A-Za-z0-9._+=,()-] are written %XX
//     (uppercase hex; '%' itself too, so distinct values keep distinct names), except that a space
//     after a comma is dropped ("sugar(surrogate=nelu, alpha=0.1)" -> "sugar(surrogate=nelu,alpha=0.1)").
//     The config refuses two spellings of one value on an axis (0.1 and 1e-1), so names in a grid
//     are unique; respelling a value in the file gives its cell a new directory.
//   - a name longer than kMaxNameBytes keeps its first kMaxNameBytes - 17 bytes and ends in '~' and
//     16 hex digits of the FNV-1a 64-bit hash of the whole name: unique, stable, and within the
//     255-byte file name limit with room for the claim file suffixes.
// Example: activation=sugar(surrogate=nelu,alpha=0.1)__seed=0, root=%2Fdata%2Fcifar10.
// The name depends only on the axes' key paths and the cell's values, never on the cell's index or on
// the other values of an axis, so a finished cell keeps its directory when values are added.
// Parentheses are legal in file names everywhere; in a shell, quote such paths.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sugar/config/experiment_config.hpp"

namespace sugar::sweep {

// One axis set to one value; `value` is the YAML scalar text as written in the config.
struct Assignment {
  std::string key;
  std::string value;
  bool operator==(const Assignment&) const = default;
};

// At most this many cells; a larger grid is almost certainly a mistake (and its plan would not fit
// in memory comfortably).
inline constexpr size_t kMaxCells = 100000;

// Cells in a grid: the product of the axis lengths. Throws sugar::Error (usage) above kMaxCells.
size_t grid_size(const std::vector<config::SweepAxis>& axes);

// Every cell's assignments, in the order described above. No axes: one cell with no assignments.
std::vector<std::vector<Assignment>> expand_grid(const std::vector<config::SweepAxis>& axes);

// The label of each key path (same order), as in the naming rule.
std::vector<std::string> axis_labels(const std::vector<std::string>& keys);

// A value as it appears in a name: the escaping of the naming rule.
std::string escape_name_value(std::string_view value);

inline constexpr size_t kMaxNameBytes = 200;

// "<label>=<escaped value>" parts joined with "__", shortened with a hash above kMaxNameBytes.
// `labels` and `values` have one entry per axis.
std::string cell_name(const std::vector<std::string>& labels, const std::vector<std::string>& values);

// FNV-1a, 64 bits: a small stable hash (the same on every machine and build).
uint64_t fnv1a64(std::string_view bytes);

}  // namespace sugar::sweep
