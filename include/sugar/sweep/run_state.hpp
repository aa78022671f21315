#pragma once
// What a cell's run directory says, from its status.json, config.yaml and last.safetensors, and so
// what a sweep does with the cell (once it holds the cell's claim, sweep/claim.hpp):
//
//   absent     no run directory, or an empty one            train it
//   finished   status "finished", all the cell's epochs     skip it
//   resumable  status "interrupted"; or "running" with no    continue it (sugar train --resume), from
//              live claim (its process died); or            last.safetensors, exactly where it stopped
//              "finished" with fewer epochs than the cell
//              now asks for under a schedule that allows it
//   restart    no last.safetensors yet (the run died         train it again from scratch (--force)
//              before its first checkpoint)
//   failed     status "failed" (the message says why)        report it; --retry-failed continues it
//   conflict   a run of another config (a key that changes   never touch it; report why
//              the math differs), or not a Sugar run
//
// A "running" status alone proves nothing: the claim says whether someone is working on the cell.
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/config/experiment_config.hpp"

namespace sugar::sweep {

enum class RunState { absent, finished, resumable, restart, failed, conflict };

const char* to_string(RunState state);

struct RunInspection {
  RunState state = RunState::absent;
  std::string status;         // status.json's state, "" when there is none
  int64_t epochs_done = 0;    // status.json's epoch
  int64_t epochs = 0;         // status.json's epochs
  bool has_checkpoint = false;
  std::string detail;         // conflict: why; failed: status.json's message
  // "key=value" for the keys the cell changes without changing the math (train.threads, data.root,
  // ...; train.epochs when it extends the run): what `sugar train --resume` is given with --set.
  std::vector<std::string> resume_overrides;
};

// Reads `run_dir` against the config the cell would train. Never throws for what it finds in the
// directory (an unreadable file is a state, not an error).
RunInspection inspect_run(const std::string& run_dir, const config::ExperimentConfig& cell_config);

}  // namespace sugar::sweep
