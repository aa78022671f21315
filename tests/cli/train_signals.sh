#!/usr/bin/env bash
# `sugar train` stopped from outside, as users stop it: SIGINT mid-epoch (exit 130, status interrupted),
# SIGTERM (exit 143), SIGKILL (nothing to clean up: the directory must still resume), and a second
# SIGINT while the first is being handled (the process dies at once, still resumable). One run
# directory goes through all of it, each session resumed from where the previous one stopped, and its
# finished metrics.csv must equal an uninterrupted run's (time columns aside).
# usage: train_signals.sh <sugar binary> <build dir>
set -euo pipefail
sugar=$1
work=$(mktemp -d /tmp/sugar-train-signals.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 192 training records (12 batches of 16 per epoch), 32 test records: 1 label byte + 3072 pixel bytes.
python3 - "$work/cifar" <<'PY'
import os, random, sys
root = sys.argv[1]
os.makedirs(root)
rng = random.Random(11)
def records(n, first):
    out = bytearray()
    for i in range(n):
        label = (first + i) % 10
        out.append(label)
        out += bytes(min(255, max(0, 30 + 20 * label + rng.randint(-25, 25))) for _ in range(3072))
    return out
for k in range(1, 6):
    with open(os.path.join(root, f"data_batch_{k}.bin"), "wb") as f:
        f.write(records(40 if k < 5 else 32, 10 * k))
with open(os.path.join(root, "test_batch.bin"), "wb") as f:
    f.write(records(32, 500))
PY

# A checkpoint after every step, so that each session can be stopped a known distance into its work.
# conv_algo direct: 'auto' times Winograd against direct convolution on this (busy) machine, so the
# reference run and the interrupted one could pick differently and round differently.
cat >"$work/signals.yaml" <<YAML
name: signals
seed: 4
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar, augment: {crop_padding: 4, hflip: true}}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: cosine}
train: {epochs: 2, batch_size: 16, eval_batch_size: 32, threads: 1, checkpoint_every_steps: 1, neuron_stats: false,
       conv_algo: direct}
YAML
cd "$work"

# The step recorded in a checkpoint's safetensors header (0 when there is none yet).
checkpoint_field() {
  python3 - "$1" "$2" <<'PY'
import json, os, struct, sys
path, key = sys.argv[1], sys.argv[2]
if not os.path.exists(path):
    print(0)
    sys.exit()
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.loads(f.read(n))["__metadata__"][key])
PY
}

# Starts a session in the background, waits until it has checkpointed a step past `from`, then sends
# the signals given, each once the previous one was handled. The waiting and signalling run in one python process, which polls the
# checkpoint header every few milliseconds: steps take a fraction of a second here.
start_and_stop() {
  local from=$1
  shift
  "$sugar" "${session_args[@]}" >"$work/out" 2>"$work/err" &
  pid=$!
  pids+=("$pid")
  python3 - "$pid" "$from" runs/b/last.safetensors "$@" <<'PY' || fail "signalling the session after step $from: $(cat "$work/err")"
import json, os, signal, struct, sys, time
pid, start, path, signals = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def step():
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return int(json.loads(f.read(n))["__metadata__"]["step"])
    except (OSError, ValueError, KeyError, struct.error):
        return 0
def alive():  # the program is bash's child: once it exits it stays a zombie until bash waits for it
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
deadline = time.monotonic() + 120
while step() <= start:
    if not alive():
        sys.exit("the session ended before it was signalled")
    if time.monotonic() > deadline:
        sys.exit(f"no checkpoint past step {start} within 120 s")
    time.sleep(0.002)
def pending(number):  # whether the signal was sent but not yet delivered to the process
    try:
        with open(f"/proc/{pid}/status") as f:
            masks = [line.split()[1] for line in f if line.startswith(("SigPnd:", "ShdPnd:"))]
        return any(int(mask, 16) >> (number - 1) & 1 for mask in masks)
    except OSError:
        return False
for i, name in enumerate(signals):
    number = getattr(signal, "SIG" + name)
    if i > 0:
        # Signals of one kind do not queue: wait until the previous one was delivered (its handler has
        # recorded it), so the next one cannot merge with it on a busy machine.
        while pending(number) and time.monotonic() < deadline:
            time.sleep(0.001)
        if pending(number):
            sys.exit(f"SIG{name} was still pending after the first one")
    os.kill(pid, number)
PY
  set +e
  wait "$pid"
  status=$?
  set -e
}

# ---- the reference: uninterrupted -----------------------------------------------------------------
"$sugar" train signals.yaml --out runs/a --set train.checkpoint_every_steps=0 >/dev/null 2>"$work/err" || fail "reference run: $(cat "$work/err")"

# ---- session 1: SIGINT mid-epoch -> exit 130, status interrupted, a mid-epoch checkpoint ---------
session_args=(train signals.yaml --out runs/b)
start_and_stop 0 INT
[[ $status == 130 ]] || fail "SIGINT: exit $status (expected 130): $(cat "$work/err")"
grep -q '"state": "interrupted"' runs/b/status.json || fail "SIGINT: status.json: $(cat runs/b/status.json)"
grep -q "interrupted after 0 epochs; continue with: sugar train --resume runs/b" "$work/out" \
  || fail "SIGINT: stdout: $(cat "$work/out")"
step1=$(checkpoint_field runs/b/last.safetensors step)
batch1=$(checkpoint_field runs/b/last.safetensors batch)
((batch1 > 0 && batch1 < 12)) || fail "SIGINT: the checkpoint is not mid-epoch (batch $batch1 of 12)"

# ---- session 2: SIGTERM -> exit 143 ----------------------------------------------------------------
session_args=(train --resume runs/b)
start_and_stop "$step1" TERM
[[ $status == 143 ]] || fail "SIGTERM: exit $status (expected 143): $(cat "$work/err")"
grep -q '"state": "interrupted"' runs/b/status.json || fail "SIGTERM: status.json: $(cat runs/b/status.json)"
step2=$(checkpoint_field runs/b/last.safetensors step)
((step2 > step1)) || fail "SIGTERM: no progress past step $step1"

# ---- sessions 2b-2d: SIGHUP (a closed terminal, a dropped ssh session), SIGQUIT and SIGUSR2 stop the
# run like SIGTERM: a checkpoint at the step, status interrupted, exit 128 + the signal, no temporary file.
for name in HUP QUIT USR2; do
  start_and_stop "$step2" "$name"
  expected=$((128 + $(kill -l "$name")))
  [[ $status == "$expected" ]] || fail "SIG$name: exit $status (expected $expected): $(cat "$work/err")"
  grep -q '"state": "interrupted"' runs/b/status.json || fail "SIG$name: status.json: $(cat runs/b/status.json)"
  grep -q "interrupted after 0 epochs; continue with: sugar train --resume runs/b" "$work/out" \
    || fail "SIG$name: stdout: $(cat "$work/out")"
  next=$(checkpoint_field runs/b/last.safetensors step)
  ((next > step2)) || fail "SIG$name: no checkpoint past step $step2"
  [[ -z $(find runs/b -name '.*.tmp.*') ]] || fail "SIG$name: a temporary file was left: $(find runs/b -name '.*.tmp.*')"
  step2=$next
done

# ---- session 2e: SIGUSR1 asks for a checkpoint now, and the run goes on ---------------------------
# Without periodic checkpoints, a mid-epoch checkpoint can only come from the signal. The session is
# then stopped with SIGTERM.
"$sugar" train --resume runs/b --set train.checkpoint_every_steps=0 >"$work/out" 2>"$work/err" &
pid=$!
pids+=("$pid")
python3 - "$pid" "$step2" runs/b <<'PY' || fail "SIGUSR1: $(cat "$work/err")"
import json, os, signal, struct, sys, time
pid, before, run = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def header():
    try:
        with open(run + "/last.safetensors", "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            return json.loads(f.read(n))["__metadata__"]
    except (OSError, ValueError, KeyError, struct.error):
        return {"step": "0", "batch": "0"}
def status():
    try:
        with open(run + "/status.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
deadline = time.monotonic() + 120
while not (status().get("pid") == pid and status().get("state") == "running"):
    if time.monotonic() > deadline:
        sys.exit("the session never reported running")
    time.sleep(0.005)
os.kill(pid, signal.SIGUSR1)
while int(header()["step"]) == before:
    if time.monotonic() > deadline:
        sys.exit("no checkpoint after SIGUSR1 within 120 s")
    time.sleep(0.002)
h = header()
with open(f"/proc/{pid}/stat") as f:
    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
        sys.exit("the session ended instead of going on")
os.kill(pid, signal.SIGTERM)
PY
set +e
wait "$pid"
status=$?
set -e
[[ $status == 143 ]] || fail "SIGUSR1 then SIGTERM: exit $status: $(cat "$work/err")"
grep -q "checkpoint requested (SIGUSR1): saved last.safetensors at epoch" runs/b/train.log || fail "SIGUSR1: not in train.log"
next=$(checkpoint_field runs/b/last.safetensors step)
((next > step2)) || fail "SIGUSR1: no progress past step $step2"
step2=$next
# ---- session 3: SIGKILL -> no cleanup at all; the next session resumes from the last checkpoint ---
# (with a checkpoint after every step again, which the next sessions rely on)
session_args=(train --resume runs/b --set train.checkpoint_every_steps=1)
start_and_stop "$step2" KILL
session_args=(train --resume runs/b)
[[ $status == 137 ]] || fail "SIGKILL: exit $status (expected 137)"
grep -q '"state": "running"' runs/b/status.json || fail "SIGKILL: status.json should still say running"
step3=$(checkpoint_field runs/b/last.safetensors step)
((step3 > step2)) || fail "SIGKILL: no progress past step $step2"

# ---- session 4: a second SIGINT while the first is handled -> dies at once -----------------------
# The first SIGINT's handler asks for a stop at the next batch boundary; the second, sent as soon as
# the first was delivered, removes the temporary file of a write in progress and kills the process
# wherever it is (before the step ends or inside the checkpoint's write), after writing status.json
# as interrupted by the second signal. bash reports a death by SIGINT as 130 too, so what tells the
# two apart is that the clean stop never completed: status.json says so and no summary was printed.
# The next session must still resume.
start_and_stop "$step3" INT INT
[[ $status == 130 ]] || fail "double SIGINT: exit $status (expected death by SIGINT)"
grep -q '"state": "interrupted"' runs/b/status.json && grep -q "stopped at once by a second stop signal" runs/b/status.json \
  || fail "double SIGINT: status.json does not say it was stopped at once: $(cat runs/b/status.json)"
[[ ! -s $work/out ]] || fail "double SIGINT: the program printed its summary: $(cat "$work/out")"
[[ -z $(find runs/b -name '.*.tmp.*') ]] || fail "double SIGINT: a temporary file was left: $(find runs/b -name '.*.tmp.*')"

# ---- session 5: to the end; the sessions together equal the reference -----------------------------
"$sugar" train --resume runs/b >"$work/out" 2>"$work/err" || fail "final resume: $(cat "$work/err")"
grep -q '"state": "finished"' runs/b/status.json || fail "final: status.json: $(cat runs/b/status.json)"
python3 - runs/a/metrics.csv runs/b/metrics.csv <<'PY' || fail "metrics.csv differs from the uninterrupted run's"
import csv, sys
def rows(path):
    with open(path) as f:
        table = list(csv.reader(f))
    time_columns = {table[0].index("epoch_time_s"), table[0].index("train_imgs_per_sec")}
    return [[cell for i, cell in enumerate(row) if i not in time_columns] for row in table]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b or len(a) != 3:
    print("uninterrupted:", a, "\nsessions:     ", b, file=sys.stderr)
    sys.exit(1)
PY
cmp -s <(checkpoint_field runs/a/last.safetensors step) <(checkpoint_field runs/b/last.safetensors step) \
  || fail "the final checkpoints disagree on the step"
# Under nohup, SIGHUP stays ignored: the run outlives its terminal.
nohup "$sugar" train signals.yaml --out runs/nohup --set train.epochs=1 --no-progress >"$work/out" 2>"$work/err" &
pid=$!
pids+=("$pid")
python3 - "$pid" runs/nohup <<'PY' || fail "nohup: $(cat "$work/err")"
import json, os, signal, sys, time
pid, run = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 120
while True:
    try:
        if json.load(open(run + "/status.json"))["pid"] == pid:
            break
    except (OSError, ValueError, KeyError):
        pass
    if time.monotonic() > deadline:
        sys.exit("the run never started")
    time.sleep(0.005)
os.kill(pid, signal.SIGHUP)
PY
set +e
wait "$pid"
status=$?
set -e
[[ $status == 0 ]] || fail "nohup: SIGHUP ended the run (exit $status): $(cat "$work/err")"
grep -q '"state": "finished"' runs/nohup/status.json || fail "nohup: $(cat runs/nohup/status.json)"

# A closed output (stdout and stderr into a pipe whose reader is gone) does not kill a training.
set +e
"$sugar" train signals.yaml --out runs/pipe --set train.epochs=1 2>&1 | true
code=${PIPESTATUS[0]}
set -e
[[ $code == 0 ]] || fail "a closed output: exit $code (141 is death by SIGPIPE)"
grep -q '"state": "finished"' runs/pipe/status.json || fail "a closed output: status.json: $(cat runs/pipe/status.json)"
# No temporary file of an interrupted atomic write is left behind.
leftovers=$(find runs/b -name '.*.tmp.*')
[[ -z $leftovers ]] || fail "temporary files left in the run directory: $leftovers"
echo "train_signals: all checks passed"
