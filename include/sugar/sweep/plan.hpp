#pragma once
// A sweep plan: every cell of a config's grid with its resolved, validated config and run directory,
// built before anything runs so that a bad cell stops the sweep with one line before the first
// training starts.
//
//   <runs>/<config name>/                 the grid directory
//     <cell name>/                        one run directory per cell (train/trainer.hpp; naming: grid.hpp)
//     .sweep/                             the sweep's own files, outside every run directory:
//       <cell name>.<generation>.claim    who runs (or ran) the cell (sweep/claim.hpp)
//       <cell name>.yaml                  the cell's resolved config, the one its `sugar train` reads
//       <cell name>.out                   the stdout and stderr of its `sugar train` processes (appended)
#include <cstddef>
#include <string>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/sweep/grid.hpp"

namespace sugar::sweep {

struct SweepCell {
  size_t index = 0;
  std::vector<Assignment> assignments;  // one per axis, values as written in the config
  std::string name;                     // the run directory's name (grid.hpp)
  std::string run_dir;                  // <runs>/<config name>/<name>
  config::ExperimentConfig config;      // the base config with the assignments applied, sweep cleared

  // "model.activation=relu seed=0", values with spaces in single quotes: for people and logs.
  std::string overrides_text() const;
};

struct SweepPlan {
  std::string config_path;
  config::ExperimentConfig base;  // as loaded (overrides applied), sweep included
  std::string grid_dir;           // <runs>/<config name>
  std::string sweep_dir;          // <grid_dir>/.sweep
  std::vector<SweepCell> cells;   // in grid order (grid.hpp)
};

// Loads `config_path` with `overrides` ("key=value", as `sugar train --set`), expands its grid and
// resolves every cell. Throws sugar::Error (usage) when the config has no grid, when an override sets
// a key that is also an axis (the grid's values would silently lose; change the axis with
// --set sweep.<key>=[...]), or when a cell's combination of values is invalid: one line naming the
// cell and its values, e.g. "grid.yaml: sweep cell 3 (schedule.name=step, schedule.warmup_epochs=2):
// grid.yaml:9:5: schedule.warmup_epochs: only the cosine schedule has a warm-up, ...". A cell with
// model.init_from gets the file's digest (model.init_from_sha256, what its run records; the file is
// read here, once per path), so that run directories are compared with the weights the cell would
// start from now; a file that cannot be read, or that does not have a digest the config pins, is such
// an error too.
SweepPlan plan_sweep(const std::string& config_path, const std::vector<std::string>& overrides,
                     const std::string& runs_dir = "runs");

// The "key=value" override that sets an assignment, the value quoted as YAML where needed so that it
// reads back as written ("seed=0", "model.activation=sugar(surrogate=bsilu)", "data.root=\"a: b\"").
std::string assignment_override(const Assignment& assignment);

}  // namespace sugar::sweep
