#pragma once
// Running a sweep plan: `sugar sweep CONFIG`.
//
// Cells are taken in grid order. For each, the run directory is inspected (sweep/run_state.hpp):
// finished cells are skipped, conflicting ones reported; otherwise the cell is claimed
// (sweep/claim.hpp; a cell held by a live claim elsewhere is left to its holder and reported "busy"),
// inspected again under the claim (another process may have finished it meanwhile), and trained in a
// child process: `<program> train <.sweep/cell.yaml> --out <run dir>` for a new cell (--force for
// one that died before its first checkpoint), `<program> train --resume <run dir>` for an interrupted
// one or one whose process died. Up to `jobs` children run at once; each uses train.threads threads
// (0 = every core, so with jobs > 1 set train.threads to cores / jobs). The claim's heartbeat is
// refreshed while the child runs and the claim is released, with the outcome, when it ends.
//
// One log line per cell start and end. SIGINT or SIGTERM stop the sweep: no new cell starts, the
// running ones are asked to stop (they save a checkpoint and end "interrupted", so the next sweep
// resumes them exactly) and their claims are released.
//
// Several sweeps may run on one grid at once, on one machine or on several sharing the runs
// directory: each works on the cells nobody holds, so N sweep processes (or a job array running one
// cell per task with only_cell) share the grid, and no cell runs twice. A Slurm job-array script is
// in apps/sugar/command_sweep.hpp and README.md.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sugar/sweep/plan.hpp"

namespace sugar::sweep {

struct SweepOptions {
  size_t jobs = 1;                    // cells trained at once
  std::optional<size_t> only_cell;    // run this cell only (job-array mode)
  bool retry_failed = false;          // continue cells whose status is "failed" (default: report them)
  std::chrono::milliseconds stale_after{std::chrono::minutes(10)};  // a claim's heartbeat older than this is stale
  std::string program = "/proc/self/exe";  // what trains a cell: a program with sugar's `train` command
  std::vector<std::string> program_args;   // options before `train`, e.g. {"--log-level", "debug"}
  std::chrono::milliseconds poll_interval{100};
};

enum class CellOutcome {
  finished,     // trained (or resumed) to the end by this sweep
  skipped,      // already finished before
  failed,       // its training failed, it conflicts with an existing run, or it failed before
  interrupted,  // its training was stopped by a signal; the next sweep resumes it
  busy,         // another live process holds its claim
  lost,         // another process took its claim over while it ran (this sweep was frozen too long)
  not_started,  // the sweep was stopped before it came to this cell
};
const char* to_string(CellOutcome outcome);

struct CellReport {
  size_t index = 0;
  std::string run_dir;
  CellOutcome outcome = CellOutcome::not_started;
  std::string action;  // what was run: "train", "resume", "restart"; empty when nothing ran
  std::string detail;  // failed: the error (and where the log is); busy: the holder
  double seconds = 0;  // how long its training ran
};

struct SweepSummary {
  std::vector<CellReport> cells;  // the cells looked at, in grid order
  bool stopped = false;           // a stop signal (sugar/signals.hpp) stopped the sweep
  int stop_signal = 0;            // which one
  size_t count(CellOutcome outcome) const;
  // 1 when a cell failed or was lost, else 128 + the signal when the sweep was stopped by one (130
  // for SIGINT, 129 for SIGHUP), else 130 when a cell was interrupted, else 0 (busy cells are
  // someone else's: not an error).
  int exit_code() const;
};

SweepSummary run_sweep(const SweepPlan& plan, const SweepOptions& options = {});

// The files of a cell under plan.sweep_dir.
std::string cell_config_path(const SweepPlan& plan, const SweepCell& cell);  // <cell>.yaml
std::string cell_output_path(const SweepPlan& plan, const SweepCell& cell);  // <cell>.out

}  // namespace sugar::sweep
