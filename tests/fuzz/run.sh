#!/usr/bin/env bash
# Runs every libFuzzer target of a SUGAR_FUZZ build for a fixed time each (see README.md).
# usage: tests/fuzz/run.sh [BUILD_DIR] [SECONDS_PER_TARGET]     (defaults: build-fuzz 60)
# SUGAR_FUZZ_RSS_MB: the memory limit per target (default 1024).
# New interesting inputs go to BUILD_DIR/fuzz-corpus/<target>/ (the seeds in tests/fuzz/corpus/ are only
# read); a crashing input is saved as BUILD_DIR/fuzz-findings/<target>-crash-<sha1> and the script exits 1.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build-fuzz}
seconds=${2:-60}
# A parser's memory must follow what its input honestly declares: an input that makes a target hold
# more than this (or ask for more in one allocation) is a finding. Inputs are at most a few KB.
rss_mb=${SUGAR_FUZZ_RSS_MB:-1024}
[[ $build == /* ]] || build="$repo_root/$build"
shopt -s nullglob
targets=("$build"/bin/fuzz_*)
((${#targets[@]} > 0)) || { echo "no fuzz targets in $build/bin; build them first (tests/fuzz/README.md)" >&2; exit 2; }
mkdir -p "$build/fuzz-findings"
# The parsers use no threads; one OpenMP thread keeps oneDNN's runtime from starting a pool per process.
export OMP_NUM_THREADS=1
failed=()
for target in "${targets[@]}"; do
  name=$(basename "$target")
  name=${name#fuzz_}
  corpus="$build/fuzz-corpus/$name"
  mkdir -p "$corpus"
  echo "== fuzz_$name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-findings/$name-" "$corpus" "$repo_root/tests/fuzz/corpus/$name" \
      >"$build/fuzz-findings/$name.log" 2>&1; then
    failed+=("$name")
    tail -n 40 "$build/fuzz-findings/$name.log" >&2
  fi
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)' "$build/fuzz-findings/$name.log" || true
done
if ((${#failed[@]} > 0)); then
  echo "fuzzing found problems in: ${failed[*]} (inputs and logs in $build/fuzz-findings/)" >&2
  exit 1
fi
echo "all ${#targets[@]} fuzz targets ran ${seconds}s each without a finding"
