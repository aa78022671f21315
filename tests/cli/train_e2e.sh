#!/usr/bin/env bash
# `sugar train` and `sugar eval` as a user runs them, on synthetic CIFAR-10 files written here: the run
# directory and its CSV, refusal to overwrite, --force, --resume (extending a constant schedule; a
# math change refused), CONFIG and --resume together refused, eval in text and JSON.
# usage: train_e2e.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10

# 48 training records over the five batch files, 32 test records: 1 label byte + 3072 pixel bytes.
write_synthetic_cifar10 "$work/cifar" "10 10 10 10 8" 32

cat >"$work/tiny.yaml" <<YAML
name: tiny
seed: 1
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 16, eval_batch_size: 32, threads: 1}
YAML
cd "$work"

# A first run into the default directory runs/<name>.
run train tiny.yaml
[[ $status == 0 ]] || fail "train exited $status: $err"
[[ $out == "run runs/tiny finished: 1 epochs"* ]] || fail "unexpected summary: $out"
for f in config.yaml metrics.csv train.log last.safetensors best.safetensors status.json run.json; do
  [[ -s runs/tiny/$f ]] || fail "runs/tiny/$f is missing or empty"
done
[[ $(head -1 runs/tiny/metrics.csv) == "epoch,train_loss,train_top1,eval_loss,eval_top1,eval_top5,lr,epoch_time_s,train_imgs_per_sec,eval_split" ]] \
  || fail "metrics.csv header: $(head -1 runs/tiny/metrics.csv)"
[[ $(wc -l <runs/tiny/metrics.csv) == 2 ]] || fail "metrics.csv should hold one row"
[[ $(sed -n 2p runs/tiny/metrics.csv) == 1,*,0.02,*,test ]] || fail "row 1: $(sed -n 2p runs/tiny/metrics.csv)"
grep -q '"state": "finished"' runs/tiny/status.json || fail "status.json: $(cat runs/tiny/status.json)"
grep -q '"flags"' runs/tiny/run.json || fail "run.json has no CPU flags"
# Not a terminal: progress goes to the log as lines, without carriage returns.
[[ $err == *"epoch 1/1"* && $err != *$'\r'* ]] || fail "stderr should hold plain log lines: $err"

# The same command again must not overwrite the run.
run train tiny.yaml
[[ $status == 2 && $(wc -l <"$work/err") == 1 && $err == *"already exists"*"--resume runs/tiny"* ]] \
  || fail "re-running into an existing directory: exit $status, $err"

# A math change on resume is refused and changes nothing.
cp runs/tiny/metrics.csv before.csv
run train --resume runs/tiny --set optim.lr=0.5
[[ $status == 2 && $err == *"cannot change optim.lr"* ]] || fail "--resume --set optim.lr: exit $status, $err"
cmp -s before.csv runs/tiny/metrics.csv || fail "a refused resume changed metrics.csv"

# CONFIG together with --resume is a usage error.
run train tiny.yaml --resume runs/tiny
[[ $status == 2 && $err == *"not both"* ]] || fail "CONFIG with --resume: exit $status, $err"

# Extending the constant schedule by one epoch (and changing threads) continues the run.
run --threads 2 train --resume runs/tiny --set train.epochs=2
[[ $status == 0 ]] || fail "resume exited $status: $err"
[[ $(wc -l <runs/tiny/metrics.csv) == 3 && $(sed -n 3p runs/tiny/metrics.csv) == 2,* ]] || fail "after resume: $(cat runs/tiny/metrics.csv)"
cmp -s <(head -2 runs/tiny/metrics.csv) before.csv || fail "resume rewrote the first epoch's row"
grep -q "threads: 2" runs/tiny/config.yaml || fail "the global --threads did not reach config.yaml"

# eval prints loss, top-1 and top-5 of the test set; --json is one JSON object.
run eval --run runs/tiny --checkpoint last
[[ $status == 0 && $out == *"test set of 32 images: loss "*"top-1 "*"top-5 "* ]] || fail "eval: exit $status, $out $err"
run eval --run runs/tiny --json
[[ $status == 0 ]] || fail "eval --json exited $status: $err"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["samples"] == 32 and 0 <= d["top1"] <= d["top5"] <= 100, d' "$out" \
  || fail "eval --json: $out"
run eval --run runs/absent
[[ $status == 2 && $err == error:*runs/absent* ]] || fail "eval of a missing run: exit $status, $err"

# --force replaces the run.
run train tiny.yaml --force
[[ $status == 0 && $(wc -l <runs/tiny/metrics.csv) == 2 ]] || fail "--force: exit $status, $err"
echo "train_e2e: all checks passed"
