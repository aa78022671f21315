#!/usr/bin/env bash
# Signals on `mpirun -np 2 sugar train` (issue 16): mpirun passes SIGUSR1 on to every rank, which agree
# on a step and write one checkpoint there, then go on; SIGHUP (a closed terminal) reaches the ranks as
# SIGTERM from mpirun, and they stop together at one step with a checkpoint, status interrupted and no
# temporary file; the same run then resumes to its end. (SIGQUIT is not Sugar's to handle under
# mpirun: Open MPI neither forwards nor lets itself be told to forward it; README.md says so.)
# usage: signals.sh <sugar binary> <build dir> <mpiexec>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../cli/lib/common.sh" "$@"
source "$here/mpi_env.sh"
mpiexec=$3
cd "$work"

write_synthetic_cifar10 cifar "96 96 96 96 96" 16
cat >signals.yaml <<YAML
name: mpi-signals
seed: 1
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 3, batch_size: 16, eval_batch_size: 16, threads: 1, neuron_stats: false}
YAML

"$mpiexec" -np 2 --bind-to none "$sugar" train signals.yaml --out runs/m --no-progress >m.out 2>m.err &
launcher=$!
python3 - "$launcher" runs/m <<'PY' || { kill -9 "$launcher" 2>/dev/null; fail "signalling mpirun: $(tail -5 m.err)"; }
import json, os, signal, sys, time
launcher, run = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 180
def header():
    try:
        with open(run + "/last.safetensors", "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            return json.loads(f.read(n))["__metadata__"]
    except (OSError, ValueError, KeyError):
        return None
def running():
    try:
        return json.load(open(run + "/status.json"))["state"] == "running"
    except (OSError, ValueError, KeyError):
        return False
while not running():
    if time.monotonic() > deadline:
        sys.exit("the ranks never started training")
    time.sleep(0.01)
# (a rank that is still starting ignores SIGUSR1: sugar sets it aside until training begins)
os.kill(launcher, signal.SIGUSR1)
# Only SIGUSR1 makes a mid-epoch checkpoint here (no train.checkpoint_every_steps).
while not (header() and int(header()["batch"]) > 0):
    if time.monotonic() > deadline:
        sys.exit("no checkpoint after SIGUSR1")
    time.sleep(0.01)
step = int(header()["step"])
while int((header() or {"step": step})["step"]) == step:  # the run goes on: the next checkpoint is the epoch's
    if time.monotonic() > deadline:
        sys.exit("the ranks did not go on after SIGUSR1")
    time.sleep(0.01)
os.kill(launcher, signal.SIGHUP)
PY
set +e
timeout 120 tail --pid="$launcher" -f /dev/null
wait "$launcher"
set -e
grep -q "checkpoint requested (SIGUSR1)" runs/m/train.log || fail "SIGUSR1: no checkpoint line in train.log"
grep -q '"state": "interrupted"' runs/m/status.json || fail "SIGHUP: status.json: $(cat runs/m/status.json); $(tail -5 m.err)"
[[ -z $(find runs/m -name '.*.tmp.*') ]] || fail "temporary files left: $(find runs/m -name '.*.tmp.*')"
timeout 300 "$mpiexec" -np 2 --bind-to none "$sugar" train --resume runs/m --no-progress >r.out 2>r.err \
  || fail "the resume after SIGHUP failed: $(tail -5 r.err)"
[[ $(grep -c '^[0-9]' runs/m/metrics.csv) == 3 ]] || fail "metrics.csv after the resume: $(cat runs/m/metrics.csv)"
grep -q '"state": "finished"' runs/m/status.json || fail "after the resume: $(cat runs/m/status.json)"
echo "mpi signals: all checks passed"
