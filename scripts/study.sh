#!/usr/bin/env bash
# The real-data study of issue 18 (configs/fashion_mnist/vgg16-paper-setting.yaml: VGG-16 on
# Fashion-MNIST in the paper's optimiser setting, ReLU vs SUGAR-B-SiLU vs SUGAR-NeLU, 3 seeds) as a
# background job that survives interruptions: a few hours on 2 idle cores, so it is stopped whenever
# the cores are needed (a benchmark, `sugar tune`, a CI run) and started again later.
#
#   bash scripts/study.sh start     freeze the binary (first start only) and run or resume the sweep in
#                                   the background; its log is runs/study/sweep.log
#   bash scripts/study.sh stop      SIGTERM the sweep: each running cell checkpoints and stops
#   bash scripts/study.sh pause     SIGSTOP the sweep and its running cell (a benchmark needs idle cores
#                                   for a few minutes; stopping would lose the cell's unfinished epoch)
#   bash scripts/study.sh resume    SIGCONT them. A paused cell's heartbeat goes stale: do not start
#                                   another sweep of the same study while it is paused
#   bash scripts/study.sh status    running or not, and each cell's state
#   bash scripts/study.sh publish   the report (by the current build/bin/sugar: reading needs no frozen
#                                   binary) and every run directory without its checkpoints (config.yaml,
#                                   metrics.csv, neurons.csv, status.json, run.json) in
#                                   docs/results/fashion-vgg16-paper-setting
#
# Frozen binary: the first start copies build/bin/sugar to runs/study/sugar-<commit>, and every later
# start runs that copy, so a rebuild between sessions cannot mix two programs in one study (each run.json
# names the commit). A binary built from uncommitted changes ("-dirty") is refused. Environment: STUDY_DIR
# (runs/study), SUGAR (build/bin/sugar: frozen at the first start, and the reporter of publish).
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config=$repo_root/configs/fashion_mnist/vgg16-paper-setting.yaml
study=${STUDY_DIR:-$repo_root/runs/study}
grid=$study/fashion-vgg16-paper-setting
published=$repo_root/docs/results/fashion-vgg16-paper-setting
pid_file=$study/sweep.pid
error() { echo "study: error: $1" >&2; exit "${2:-1}"; }

frozen_binary() { compgen -G "$study/sugar-*" | head -n 1 || true; }

running_pid() {
  [[ -f $pid_file ]] || return 1
  local pid
  pid=$(cat "$pid_file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q "sugar" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

start() {
  mkdir -p "$study"
  if pid=$(running_pid); then error "the sweep is already running (pid $pid); 'stop' it first"; fi
  local binary
  binary=$(frozen_binary)
  if [[ -z $binary ]]; then
    local source=${SUGAR:-$repo_root/build/bin/sugar}
    [[ -x $source ]] || error "$source is missing; run scripts/setup.sh first" 2
    local commit
    commit=$("$source" --version | sed -n 's/^sugar [^ ]* (commit \([^)]*\)).*/\1/p')
    [[ -n $commit && $commit != unknown && $commit != *-dirty ]] ||
      error "$source was built from '${commit:-?}': build a committed tree, so that run.json names the code" 2
    binary=$study/sugar-$commit
    cp "$source" "$binary"
    echo "study: froze $source as $binary"
  fi
  # setsid: the sweep outlives this shell; SIGTERM from 'stop' reaches the sweep, which stops its cells.
  setsid nohup "$binary" sweep "$config" --runs "$study" >>"$study/sweep.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  echo "study: running $binary sweep (pid $!); log $study/sweep.log"
}

stop() {
  local pid
  pid=$(running_pid) || { echo "study: not running"; return; }
  kill -TERM "$pid"
  # A paused sweep (SIGSTOP) handles the SIGTERM only once it runs again.
  for p in $(sweep_processes "$pid"); do kill -CONT "$p" 2>/dev/null || true; done
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || { echo "study: stopped (pid $pid); 'start' resumes"; rm -f "$pid_file"; return; }
    sleep 1
  done
  error "the sweep (pid $pid) did not stop within 10 minutes"
}

# The sweep and the cells it runs (children in their own process groups: signalled one by one).
sweep_processes() { echo "$1"; pgrep -P "$1" || true; }

signal_all() {
  local pid
  pid=$(running_pid) || error "the sweep is not running"
  for p in $(sweep_processes "$pid"); do kill "-$1" "$p" 2>/dev/null || true; done
  echo "study: $2 (pid $pid and its cells)"
}

status() {
  if pid=$(running_pid); then echo "study: running (pid $pid), binary $(frozen_binary)"; else echo "study: not running"; fi
  [[ -d $grid ]] || { echo "study: no cells yet"; return; }
  for cell in "$grid"/*/; do
    local state=none
    [[ -f $cell/status.json ]] && state=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("state","?"), "epoch", s.get("epoch","?"), "of", s.get("epochs","?"))' "$cell/status.json")
    echo "  $(basename "$cell"): $state"
  done
}

publish() {
  if pid=$(running_pid); then error "the sweep is still running (pid $pid)"; fi
  [[ -d $grid ]] || error "no study in $grid"
  # The report reads the study's own run directories; reading needs no frozen binary.
  bash "$repo_root/scripts/publish_grid.sh" "$grid" "$published"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  pause) signal_all STOP paused ;;
  resume) signal_all CONT resumed ;;
  status) status ;;
  publish) publish ;;
  *) error "expected one of start, stop, pause, resume, status, publish (got '${1:-}')" 2 ;;
esac
