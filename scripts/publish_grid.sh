#!/usr/bin/env bash
# Publishes a finished sweep grid under docs/results: `sugar report` of the grid, then every cell's run
# directory without its checkpoints (config.yaml, metrics.csv, neurons.csv, status.json, run.json), so
# the report can be read and regenerated from what is committed.
#
#   bash scripts/publish_grid.sh runs/results/fashion-convnext-gelu-vs-sugar docs/results/fashion-convnext-gelu-vs-sugar
#
# Environment: SUGAR (build/bin/sugar), the program that writes the report.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
error() { echo "publish_grid: error: $1" >&2; exit "${2:-1}"; }
[[ $# == 2 ]] || error "usage: publish_grid.sh GRID_DIR OUT_DIR (got $# arguments)" 2
grid=$1
out=$2
[[ -d $grid ]] || error "no grid in $grid" 2
reporter=${SUGAR:-$repo_root/build/bin/sugar}
[[ -x $reporter ]] || error "$reporter is missing; run scripts/setup.sh first" 2
# The report first: `sugar report --out` refuses a folder holding files that are not a report, and
# leaves alone, on a later run, the runs/ folder copied in after it.
"$reporter" report "$grid" --out "$out"
for cell in "$grid"/*/; do
  name=$(basename "$cell")
  mkdir -p "$out/runs/$name"
  for file in config.yaml metrics.csv neurons.csv status.json run.json; do
    if [[ -f $cell/$file ]]; then cp "$cell/$file" "$out/runs/$name/"; fi
  done
done
echo "publish_grid: published $grid in $out"
