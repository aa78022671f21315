#pragma once
// `sugar sweep CONFIG [--runs DIR] [--jobs N] [--set key=value ...] [--dry-run] [--count] [--cell K]`:
// trains every cell of a config's sweep grid (sugar/sweep/runner.hpp), skipping finished cells and
// resuming interrupted ones; several sweeps, or the tasks of a job array, can share one grid.
//
// On a cluster with a job-array scheduler, one cell per task (Slurm):
//
//   #!/bin/bash
//   #SBATCH --job-name=sugar-grid
//   #SBATCH --cpus-per-task=8
//   #SBATCH --time=12:00:00
//   #SBATCH --requeue
//   #SBATCH --signal=B:TERM@120    # warn the batch shell (the sweep, by exec) before the time limit
//   exec sugar sweep configs/grid.yaml --runs /shared/runs --cell env --set train.threads=$SLURM_CPUS_PER_TASK
//
//   sbatch --array=0-$(( $(sugar sweep configs/grid.yaml --count) - 1 )) grid.sbatch
//
// `--cell env` reads SLURM_ARRAY_TASK_ID (`--cell env:NAME` another variable; SGE's SGE_TASK_ID
// counts from 1, so use --cell $((SGE_TASK_ID - 1)) there). A task whose cell is finished exits at
// once; a requeued or resubmitted task resumes its cell; a claim left by a crashed node is taken over
// once its heartbeat is --stale-after old. Without --cell, N tasks each running `sugar sweep` on the
// same --runs share the whole grid instead.
#include "command.hpp"

namespace sugar::cli {

Command add_sweep_command(CLI::App& parent);

}  // namespace sugar::cli
