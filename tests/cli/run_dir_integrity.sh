#!/usr/bin/env bash
# One owner per run directory, resumes that validate before they write, and numbers that cannot be
# wrong without warning (issue 16, classes 2, 3 and 4):
#   - several `sugar train` on one --out at once: exactly one trains, the others are refused with one
#     line naming the owner's pid and host, and the directory holds one consistent run;
#   - --resume racing a fresh --force run on the same directory: the same;
#   - --force never replaces a directory whose owner is alive; readers (report, eval) need no lock;
#   - every run file tampered in turn (config.yaml value, metrics.csv row, neurons.csv row,
#     status.json, run.json, the checkpoint's metadata): --resume refuses with one line naming the file
#     and what is wrong, and changes nothing on disk; a no-op resume of a finished run changes nothing;
#     rows after the checkpoint and a torn last row are announced and dropped;
#   - a checkpoint whose classifier is NaN is not evaluated as 100% accurate.
# usage: run_dir_integrity.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"
pids=()
cleanup_children() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
trap 'cleanup_children; rm -rf "$work"' EXIT
cd "$work"
host=$(hostname)

write_synthetic_cifar10 cifar "8 8 8 8 8" 16
write_synthetic_cifar10 cifar-big "96 96 96 96 96" 16
cat >base.yaml <<YAML
name: integrity
seed: 2
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 8, eval_batch_size: 16, threads: 1, conv_algo: direct}
YAML

one_error_line() {  # one_error_line NAME: stderr is exactly one 'error:' line
  [[ $(wc -l <"$work/err") == 1 && $err == error:* ]] || fail "$1: stderr is not one 'error:' line: $err"
}
has() {  # has NAME 'word|word': every word is in $err
  local word
  IFS='|' read -ra words <<<"$2"
  for word in "${words[@]}"; do [[ $err == *"$word"* ]] || fail "$1: '$word' is missing from: $err"; done
}
checked=0
# refused NAME EXIT 'words' RUN_DIR -- ARGS: sugar ARGS fails with one clear line and leaves RUN_DIR as it was.
refused() {
  local name=$1 code=$2 words=$3 dir=$4
  shift 5
  local before
  before=$(fingerprint "$dir")
  set +e
  timeout 60 "$sugar" "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  err=$(cat "$work/err")
  [[ $status == "$code" ]] || fail "$name: exit $status, expected $code: $err"
  one_error_line "$name"
  has "$name" "$words"
  [[ $(fingerprint "$dir") == "$before" ]] || fail "$name: the refused command changed $dir"
  checked=$((checked + 1))
}
# The number of data rows of a CSV file.
rows() { grep -c '^[0-9]' "$1"; }
status_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1/status.json" "$2"; }
# A checkpoint header's metadata entry.
meta() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.loads(f.read(n))["__metadata__"][sys.argv[2]])
PY
}

# ---- class 3: several fresh runs on one directory at once ----------------------------------------
# 2 epochs of 480 images: long enough that every racer starts while the winner still trains.
for i in 1 2 3; do
  "$sugar" train base.yaml --set "data.root=$work/cifar-big" --set train.epochs=2 --out runs/race --no-progress \
    >"race$i.out" 2>"race$i.err" &
  race_pids[i]=$!
  pids+=("$!")
done
winners=0
for i in 1 2 3; do
  set +e
  timeout 300 tail --pid="${race_pids[i]}" -f /dev/null
  wait "${race_pids[i]}"
  code=$?
  set -e
  err=$(cat "race$i.err")
  if [[ $code == 0 ]]; then
    winners=$((winners + 1))
    winner=${race_pids[i]}
  else
    [[ $code == 1 ]] || fail "race $i: exit $code, expected 0 or 1: $err"
    [[ $(wc -l <"race$i.err") == 1 && $err == "error: train: run directory runs/race is in use by pid "*" on host $host (train, since "* ]] \
      || fail "race $i: not one line naming the owner: $err"
  fi
done
[[ $winners == 1 ]] || fail "race: $winners of 3 concurrent runs trained (expected exactly 1)"
for i in 1 2 3; do
  if [[ ${race_pids[i]} != "$winner" ]]; then
    grep -q "in use by pid $winner on host" "race$i.err" || fail "race: the refusal names another pid than the owner $winner: $(cat "race$i.err")"
  fi
done
[[ $(status_field runs/race state) == finished && $(status_field runs/race pid) == "$winner" ]] \
  || fail "race: status.json is not the winner's finished status: $(cat runs/race/status.json)"
[[ $(rows runs/race/metrics.csv) == 2 && $(meta runs/race/last.safetensors epoch) == 2 ]] \
  || fail "race: metrics.csv and the checkpoint are not one run's: $(cat runs/race/metrics.csv)"
grep -q '"epochs: 2"\|epochs: 2' runs/race/config.yaml || fail "race: config.yaml is not the run's"
[[ $(python3 -c 'import json; print(len(json.load(open("runs/race/run.json"))["sessions"]))') == 1 ]] \
  || fail "race: run.json records more than one session"
checked=$((checked + 1))

# ---- class 3: --resume racing a fresh --force run --------------------------------------------------
"$sugar" train base.yaml --out runs/both --no-progress >/dev/null 2>&1 || fail "the run to race over did not train"
"$sugar" train --resume runs/both --set train.epochs=4 --set "data.root=$work/cifar-big" --no-progress >r.out 2>r.err &
resume_pid=$!
pids+=("$resume_pid")
"$sugar" train base.yaml --out runs/both --force --set "data.root=$work/cifar-big" --set train.epochs=2 --no-progress >f.out 2>f.err &
force_pid=$!
pids+=("$force_pid")
set +e
wait "$resume_pid"; resume_code=$?
wait "$force_pid"; force_code=$?
set -e
if [[ $resume_code == 0 ]]; then
  [[ $force_code == 1 ]] && grep -q "in use by pid $resume_pid on host" f.err || fail "resume won, but --force said: $force_code $(cat f.err)"
  expected_epochs=4
else
  [[ $force_code == 0 && $resume_code == 1 ]] && grep -q "in use by pid $force_pid on host" r.err \
    || fail "neither or both won: resume $resume_code $(cat r.err); force $force_code $(cat f.err)"
  expected_epochs=2
fi
[[ $(rows runs/both/metrics.csv) == "$expected_epochs" && $(meta runs/both/last.safetensors epoch) == "$expected_epochs" &&
   $(status_field runs/both epoch) == "$expected_epochs" && $(status_field runs/both state) == finished ]] \
  || fail "resume vs force: the directory is not one consistent run of $expected_epochs epochs: $(cat runs/both/metrics.csv)"
checked=$((checked + 1))

# ---- class 3: --force and --resume never take a directory whose owner lives; readers need no lock -----
"$sugar" train base.yaml --out runs/busy --set "data.root=$work/cifar-big" --set train.epochs=3 --no-progress >busy.out 2>busy.err &
busy=$!
pids+=("$busy")
for _ in $(seq 600); do
  [[ -f runs/busy/last.safetensors ]] && break
  kill -0 "$busy" 2>/dev/null || fail "the busy run ended early: $(cat busy.err)"
  sleep 0.1
done
[[ -f runs/busy/last.safetensors ]] || fail "the busy run wrote no checkpoint in 60 s"
for args in "train base.yaml --out runs/busy --force" "train --resume runs/busy"; do
  set +e
  # shellcheck disable=SC2086
  timeout 60 "$sugar" $args >"$work/out" 2>"$work/err"
  status=$?
  set -e
  err=$(cat "$work/err")
  [[ $status == 1 ]] || fail "$args while it trains: exit $status: $err"
  one_error_line "$args"
  has "$args" "runs/busy is in use by pid $busy on host $host"
  checked=$((checked + 1))
done
"$sugar" report runs/busy --out report-busy >/dev/null 2>&1 || fail "sugar report could not read a running run"
"$sugar" eval --run runs/busy --checkpoint best >/dev/null 2>"$work/err" || fail "sugar eval could not read a running run: $(cat "$work/err")"
wait "$busy" || fail "the busy run failed after the refused commands: $(cat busy.err)"
[[ $(rows runs/busy/metrics.csv) == 3 ]] || fail "the busy run's metrics.csv: $(cat runs/busy/metrics.csv)"

# ---- class 3: --force replaces a run and nothing else; a run that fails to start leaves nothing -------
mkdir -p project/src && echo 'int main() {}' >project/src/main.c && cp base.yaml project/config.yaml
refused force-foreign-files 2 "--force: project holds src, which is not a file of a Sugar run; refusing to delete it" project -- \
  train base.yaml --out project --force
mkdir scratch && cp base.yaml scratch/ && ln -s "$work/nowhere" scratch/dangling
refused out-under-a-file 2 "run directory scratch/base.yaml/sub: scratch/base.yaml is not a directory" scratch -- \
  train base.yaml --out scratch/base.yaml/sub
refused out-dangling-link 2 "run directory scratch/dangling is a symbolic link to nothing" scratch -- train base.yaml --out scratch/dangling
set +e
timeout 60 "$sugar" train base.yaml --set "data.root=$work/nowhere" --out runs/deep/a/b >/dev/null 2>"$work/err"
status=$?
set -e
[[ $status == 1 && ! -e runs/deep ]] || fail "a run that failed to start left $(find runs/deep 2>/dev/null) (exit $status)"
checked=$((checked + 1))

# ---- class 4: a finished run resumed as a no-op changes nothing -------------------------------------
"$sugar" train base.yaml --out runs/ok --no-progress >/dev/null 2>&1 || fail "the reference run failed"
grep -q '"conv_algorithms": {' runs/ok/run.json || fail "run.json records no convolution algorithms"
before=$(fingerprint runs/ok)
"$sugar" train --resume runs/ok >"$work/out" 2>"$work/err" || fail "no-op resume: $(cat "$work/err")"
grep -q "already completed its 1 epochs; nothing to do" "$work/err" || fail "no-op resume did not say so: $(cat "$work/err")"
[[ $(fingerprint runs/ok) == "$before" ]] || fail "a no-op resume changed the run directory"
checked=$((checked + 1))

# ---- class 4: each run file tampered in turn -> the resume refuses and changes nothing --------------
tampered() {  # tampered NAME PYTHON_CODE (cwd = a copy of runs/ok)
  rm -rf "runs/$1"
  cp -a runs/ok "runs/$1"
  (cd "runs/$1" && python3 -c "$2")
}
edit_header() {  # python code that rewrites last.safetensors' header with $1 applied to the dict h
  cat <<PY
import json, struct
b = open("last.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
$1
head = json.dumps(h).encode()
head += b" " * (-len(head) % 8)
open("last.safetensors", "wb").write(struct.pack("<Q", len(head)) + head + b[8 + n:])
PY
}
tampered lr 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("lr: 0.02", "lr: 0.05"))'
refused edited-config-value 1 "runs/lr/config.yaml has optim.lr: 0.05|runs/lr/last.safetensors was trained with optim.lr: 0.02|put the value back" \
  runs/lr -- train --resume runs/lr --set train.epochs=2
refused edited-config-set-explicitly 2 "--resume: cannot change optim.lr" runs/lr -- \
  train --resume runs/lr --set train.epochs=2 --set optim.lr=0.05
tampered activation 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("activation: relu", "activation: gelu"))'
refused edited-config-activation 1 "config.yaml has model.activation: \"gelu(approximate=none)\"|trained with model.activation: relu" runs/activation -- \
  train --resume runs/activation --set train.epochs=2
# Evaluating under the edited config would evaluate another model with the same weights.
refused eval-edited-activation 1 "eval: runs/activation/config.yaml has model.activation: \"gelu(approximate=none)\"|runs/activation/best.safetensors was trained with model.activation: relu" \
  runs/activation -- eval --run runs/activation
tampered epochs 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("epochs: 1", "epochs: 5"))'
refused edited-config-epochs 1 "config.yaml has train.epochs: 5|or pass --set train.epochs=N" runs/epochs -- train --resume runs/epochs
tampered abc 'c = open("metrics.csv").read().split(","); c[10] = "abc"; open("metrics.csv", "w").write(",".join(c))'
refused metrics-not-a-number 1 "runs/abc/metrics.csv:2: train_loss: 'abc' is not a number" runs/abc -- train --resume runs/abc --set train.epochs=2
tampered norow 'l = open("metrics.csv").readlines(); open("metrics.csv", "w").write(l[0])'
refused metrics-missing-row 1 "runs/norow/metrics.csv: has rows up to epoch 0, but the checkpoint is at epoch 1" runs/norow -- \
  train --resume runs/norow --set train.epochs=2
tampered skipped 'l = open("metrics.csv").readlines(); open("metrics.csv", "w").write(l[0] + l[1].replace("1,", "2,", 1))'
refused metrics-wrong-epoch 1 "runs/skipped/metrics.csv:2: epoch 2 where epoch 1 was expected" runs/skipped -- \
  train --resume runs/skipped --set train.epochs=2
tampered neurons 'l = open("neurons.csv").readlines(); c = l[2].split(","); c[2] = "7"; l[2] = ",".join(c); open("neurons.csv", "w").write("".join(l))'
refused neurons-not-a-fraction 1 "runs/neurons/neurons.csv:3: dead_fraction: 7 is not a fraction" runs/neurons -- \
  train --resume runs/neurons --set train.epochs=2
tampered status-json 'open("status.json", "w").write("{\"state\": \"finish")'
refused status-not-json 1 "runs/status-json/status.json: not a status file" runs/status-json -- train --resume runs/status-json --set train.epochs=2
tampered status-state 'import json; s = json.load(open("status.json")); s["state"] = "exploded"; json.dump(s, open("status.json", "w"))'
refused status-unknown-state 1 "runs/status-state/status.json: unknown state 'exploded'" runs/status-state -- \
  train --resume runs/status-state --set train.epochs=2
tampered status-epoch 'import json; s = json.load(open("status.json")); s["epoch"] = 9; json.dump(s, open("status.json", "w"))'
refused status-ahead 1 "runs/status-epoch/status.json: says 9 epochs are done, but runs/status-epoch/last.safetensors holds epoch 1" \
  runs/status-epoch -- train --resume runs/status-epoch --set train.epochs=2
tampered run-json 'open("run.json", "w").write("{\"sessions\": [")'
refused run-json-not-json 1 "runs/run-json/run.json: not a run.json this program wrote (invalid JSON" runs/run-json -- train --resume runs/run-json --set train.epochs=2
tampered meta-best "$(edit_header 'h["__metadata__"]["best_epoch"] = "7"')"
refused checkpoint-best-epoch 1 "runs/meta-best/last.safetensors: metadata 'best_epoch' 7 is after 'epoch' 1" runs/meta-best -- \
  train --resume runs/meta-best --set train.epochs=2
tampered meta-math "$(edit_header 'm = json.loads(h["__metadata__"]["config_math"]); m["optim.momentum"] = "0.5"; h["__metadata__"]["config_math"] = json.dumps(m)')"
refused checkpoint-config 1 "config.yaml has optim.momentum: 0.9|runs/meta-math/last.safetensors was trained with optim.momentum: 0.5" \
  runs/meta-math -- train --resume runs/meta-math --set train.epochs=2
tampered meta-lr "$(edit_header 'h["__metadata__"]["lr"] = "nan"')"
refused checkpoint-nan 1 "runs/meta-lr/last.safetensors: metadata 'lr' is not a finite number: 'nan'" runs/meta-lr -- \
  train --resume runs/meta-lr --set train.epochs=2
# A checkpoint inside epoch 2 of 2 (as a stop mid-epoch leaves it): train.epochs may not end the run
# before the epoch it has begun.
tampered midway "$(edit_header 'm = json.loads(h["__metadata__"]["config_math"]); m["train.epochs"] = "2"; h["__metadata__"]["config_math"] = json.dumps(m); h["__metadata__"]["batch"] = "1"; h["__metadata__"]["step"] = "6"')"
(cd runs/midway && python3 -c 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("epochs: 1", "epochs: 2"))')
refused epochs-inside-begun-epoch 2 "--resume: train.epochs=1 would end the run inside epoch 2, which the checkpoint has begun; give at least 2" \
  runs/midway -- train --resume runs/midway --set train.epochs=1
# A running status of another host whose heartbeat is fresh: its owner may be alive there.
tampered elsewhere 'import json, time; s = json.load(open("status.json")); s.update(state="running", host="node17", pid=4242, heartbeat_unix=time.time()); json.dump(s, open("status.json", "w"))'
refused other-host-owner 1 "runs/elsewhere is in use by pid 4242 on host node17" runs/elsewhere -- train --resume runs/elsewhere --set train.epochs=2

# ---- class 4: what a resume may drop, it announces ---------------------------------------------------
# A row of epoch 2 without a checkpoint (the run died between the row and the checkpoint) and a row
# torn by a crash: both dropped, said so, and epoch 2 trained again.
tampered extra 'l = open("metrics.csv").readlines(); open("metrics.csv", "w").write("".join(l) + l[1].replace("1,", "2,", 1) + "3,0.5")'
"$sugar" train --resume runs/extra --set train.epochs=2 --no-progress >"$work/out" 2>"$work/err" || fail "resume over extra rows: $(cat "$work/err")"
grep -q "runs/extra/metrics.csv: discarding the rows of epoch 2, written after the checkpoint of epoch 1" "$work/err" \
  || fail "the discarded rows were not announced: $(cat "$work/err")"
grep -q "runs/extra/metrics.csv:4: discarding a row cut off by a crash" "$work/err" || fail "the torn row was not announced: $(cat "$work/err")"
[[ $(rows runs/extra/metrics.csv) == 2 && $(sed -n 3p runs/extra/metrics.csv) != "$(sed -n 2p runs/ok/metrics.csv | sed 's/^1,/2,/')" ]] \
  || fail "metrics.csv after the resume: $(cat runs/extra/metrics.csv)"
# A checkpoint of an older Sugar (no config_math) still resumes, with a warning that edits cannot be seen.
tampered old "$(edit_header 'del h["__metadata__"]["config_math"]')"
"$sugar" train --resume runs/old --set train.epochs=2 --no-progress >"$work/out" 2>"$work/err" || fail "resume of an old checkpoint: $(cat "$work/err")"
grep -q "runs/old/last.safetensors was written before checkpoints recorded their config" "$work/err" || fail "no warning for an old checkpoint: $(cat "$work/err")"
# A key that does not change the math may be edited by hand.
tampered threads 'c = open("config.yaml").read(); open("config.yaml", "w").write(c.replace("threads: 1", "threads: 2"))'
"$sugar" train --resume runs/threads --set train.epochs=2 --no-progress >/dev/null 2>"$work/err" || fail "resume after editing train.threads: $(cat "$work/err")"
checked=$((checked + 3))

# A header naming "__metadata__" twice: JSON keeps the last copy silently, so it is refused.
tampered dupmeta '
import struct
b = open("best.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
head = b[8:8 + n].rstrip(b" ")
head = head[:-1] + b",\"__metadata__\":{\"epoch\":\"5\"}}"
head += b" " * (-len(head) % 8)
open("best.safetensors", "wb").write(struct.pack("<Q", len(head)) + head + b[8 + n:])'
refused eval-duplicate-metadata 1 "runs/dupmeta/best.safetensors|the key \"__metadata__\" appears twice" runs/dupmeta -- eval --run runs/dupmeta
# A finished run with a row after its last epoch: the resume announces the drop and does it.
tampered finished-extra 'l = open("metrics.csv").readlines(); open("metrics.csv", "w").write("".join(l) + l[1].replace("1,", "2,", 1))'
"$sugar" train --resume runs/finished-extra --no-progress >/dev/null 2>"$work/err" || fail "resume over a finished run's extra row: $(cat "$work/err")"
grep -q "discarding the rows of epoch 2" "$work/err" && [[ $(rows runs/finished-extra/metrics.csv) == 1 ]] \
  || fail "the extra row of a finished run was announced but kept: $(cat runs/finished-extra/metrics.csv)"
# sugar report refuses rows the trainer could not have written, and skips what it cannot look at.
tampered far-epoch 'l = open("metrics.csv").readlines(); open("metrics.csv", "w").write("".join(l) + l[1].replace("1,", "1000000,", 1))'
refused report-far-epoch 1 "runs/far-epoch/metrics.csv:3: epoch 1000000 where epoch 2 (of the 1 in config.yaml) was expected" \
  runs/far-epoch -- report runs/far-epoch --out report-far
mkdir -p loops/a && ln -s b loops/a/c && ln -s c loops/a/b && cp -a runs/ok loops/run
"$sugar" report loops --out report-loops >/dev/null 2>"$work/err" || fail "a symlink loop ended the report: $(cat "$work/err")"
checked=$((checked + 2))

# ---- class 2: a NaN model is not 100% accurate -----------------------------------------------------
tampered nan '
import json, struct
b = bytearray(open("best.safetensors", "rb").read())
n = struct.unpack("<Q", b[:8])[0]
t = json.loads(b[8:8 + n])["classifier.weight"]
start, end = (8 + n + o for o in t["data_offsets"])
b[start:end] = struct.pack("<f", float("nan")) * ((end - start) // 4)
open("best.safetensors", "wb").write(b)'
refused eval-nan-model 1 "the model of runs/nan/best.safetensors produces non-finite outputs (NaN or Inf logits) for 16 of 16 test images" \
  runs/nan -- eval --run runs/nan
[[ -z $(cat "$work/out") ]] || fail "eval of a NaN model printed a result: $(cat "$work/out")"
refused eval-nan-model-json 1 "produces non-finite outputs (NaN or Inf logits) for 16 of 16 test images" runs/nan -- \
  eval --run runs/nan --json
[[ -z $(cat "$work/out") ]] || fail "eval --json of a NaN model printed a result: $(cat "$work/out")"
# last.safetensors with an infinite bias for class 0: every logit row holds +Inf.
tampered inf '
import json, struct
b = bytearray(open("last.safetensors", "rb").read())
n = struct.unpack("<Q", b[:8])[0]
t = json.loads(b[8:8 + n])["classifier.bias"]
start = 8 + n + t["data_offsets"][0]
b[start:start + 4] = struct.pack("<f", float("inf"))
open("last.safetensors", "wb").write(b)'
refused eval-inf-logits 1 "the model of runs/inf/last.safetensors produces non-finite outputs (NaN or Inf logits) for 16 of 16" \
  runs/inf -- eval --run runs/inf --checkpoint last
# Finite but enormous logits: the loss overflows while every logit is finite.
tampered huge '
import json, struct
b = bytearray(open("best.safetensors", "rb").read())
n = struct.unpack("<Q", b[:8])[0]
t = json.loads(b[8:8 + n])["classifier.bias"]
start, end = (8 + n + o for o in t["data_offsets"])
for k in range((end - start) // 4):
    b[start + 4 * k:start + 4 * k + 4] = struct.pack("<f", 3e38 if k % 2 else -3e38)
open("best.safetensors", "wb").write(b)'
set +e
timeout 60 "$sugar" eval --run runs/huge >"$work/out" 2>"$work/err"
status=$?
set -e
# Either the loss is infinite (refused with its own message) or finite: never a silent Inf/NaN result.
if [[ $status != 0 ]]; then
  [[ $status == 1 && $(cat "$work/err") == "error: eval: the model of runs/huge/best.safetensors "* ]] || fail "huge logits: $status $(cat "$work/err")"
else
  ! grep -qi "nan\|inf" "$work/out" || fail "huge logits printed a non-finite result: $(cat "$work/out")"
fi
checked=$((checked + 1))

# ---- user text in train.log is escaped like the terminal's lines -----------------------------------
"$sugar" train base.yaml --out $'runs/esc\e[31mred' --no-progress >/dev/null 2>"$work/err" || fail "a run named with an ESC: $(cat "$work/err")"
! grep -q $'\e' $'runs/esc\e[31mred/train.log' "$work/err" || fail "a raw ESC reached train.log or the terminal"
grep -qF 'runs/esc\x1b[31mred' $'runs/esc\e[31mred/train.log' || fail "train.log does not show the escaped name"
checked=$((checked + 1))

echo "run_dir_integrity: all $checked checks passed"
