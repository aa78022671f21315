#!/usr/bin/env bash
# `sugar report` as a user runs it: hand-written run directories (2 activations x 3 seeds plus an
# interrupted run) give the table on stdout with the hand-computed numbers, report.md, report.csv
# and PNG plots; a corrupt metrics.csv, no runs and a foreign --out folder are one-line errors; a
# second report replaces only its own files. Last, two real 1-epoch `sugar train` runs on synthetic
# CIFAR-10 files: the report reads what the trainer writes.
# usage: report.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10
source "$(dirname "${BASH_SOURCE[0]}")/lib/report_runs.sh"   # make_run

# relu final 80, 82, 84: mean 82, std 2. sugar 85, 86.5, 88: mean 86.5, std 1.5. Paired by seed the
# differences are 5, 4.5, 4: mean 4.5, std 0.5, 95% CI 4.5 -/+ 4.3027 * 0.5 / sqrt(3) = [3.26, 5.74].
# Mean curves: relu 52 62 72 82, sugar 61.5 71.5 81.5 86.5: first epoch >= 75 is 4 and 3.
make_run relu-s0 relu 0 finished 50 60 70 80
make_run relu-s1 relu 1 finished 52 62 72 82
make_run relu-s2 relu 2 finished 54 64 74 84
make_run sugar-s0 "sugar(surrogate=bsilu)" 0 finished 60 70 80 85
make_run sugar-s1 "sugar(surrogate=bsilu)" 1 finished 61.5 71.5 81.5 86.5
make_run sugar-s2 "sugar(surrogate=bsilu)" 2 finished 63 73 83 88
make_run sugar-s3 "sugar(surrogate=bsilu)" 3 interrupted 99 99
cd "$work"

run report runs --out rep --target-acc 75
[[ $status == 0 ]] || fail "report exited $status: $err"
header=$(head -1 <<<"$out")
for column in model.activation split seeds "final top-1 %" "Δ vs relu (pp)" "95% CI (pairs)" "epoch ≥ 75%"; do
  [[ $header == *"$column"* ]] || fail "the table header lacks '$column': $header"
done
relu_row=$(grep '^relu ' <<<"$out") || fail "no relu row: $out"
sugar_row=$(grep '^sugar(' <<<"$out") || fail "no sugar row: $out"
[[ $relu_row =~ relu\ +test\ +3\ +82\.00\ ±\ 2\.00\ +baseline\ +—\ +4$ ]] || fail "relu row: $relu_row"
[[ $sugar_row =~ test\ +3\ +86\.50\ ±\ 1\.50\ +\+4\.50\ +\[\+3\.26,\ \+5\.74\]\ \(3\)\ +3$ ]] || fail "sugar row: $sugar_row"
[[ $out == *"Unfinished runs (not in the table):"*"runs/sugar-s3"*"interrupted after 2 of 4 epochs"* ]] \
  || fail "the interrupted run is not listed apart: $out"

for f in report.md report.csv; do [[ -s rep/$f ]] || fail "rep/$f is missing or empty"; done
grep -q '^| relu | test | 3 | 82.00 ± 2.00 | baseline | — | 4 |$' rep/report.md || fail "report.md: $(cat rep/report.md)"
grep -q '^relu,test,3,0 1 2,82,2,' rep/report.csv || fail "report.csv: $(cat rep/report.csv)"
grep -q ',relu,3,4.5,0.5,3.257931144,5.742068856,0.95,75,3$' rep/report.csv || fail "report.csv sugar row: $(cat rep/report.csv)"
if grep -q 'built without cairo' rep/report.md; then
  echo "note: sugar was built without cairo, plots not checked"
else
  for png in rep/eval_top1_resnet18_cifar10.png rep/train_loss_resnet18_cifar10.png; do
    [[ -s $png ]] || fail "$png is missing or empty"
    [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
    [[ $(stat -c %s "$png") -gt 5000 ]] || fail "$png is suspiciously small"
    grep -q "($(basename "$png"))" rep/report.md || fail "report.md does not link $png"
  done
fi

# A second report into the same folder replaces its own files and leaves the user's alone.
echo "mine" >rep/notes.txt
run report runs --out rep
[[ $status == 0 ]] || fail "a second report into rep/ exited $status: $err"
[[ $(cat rep/notes.txt) == mine ]] || fail "the report touched rep/notes.txt"
# No target this time: the column is gone from the rewritten report.md.
! grep -q 'epoch ≥' rep/report.md || fail "report.md was not rewritten"

# Errors: one line each, with the right exit code.
mkdir other && echo x >other/data.txt
run report runs --out other
[[ $status == 2 && $(wc -l <"$work/err") == 1 && $err == *"not a Sugar report"* ]] || fail "foreign --out: exit $status, $err"
[[ $(cat other/data.txt) == x && ! -e other/report.md ]] || fail "a refused --out was written to"
mkdir empty
run report empty
[[ $status == 2 && $(wc -l <"$work/err") == 1 && $err == "error: report: no run directories"* ]] || fail "no runs: exit $status, $err"
run report
[[ $status == 2 && $(wc -l <"$work/err") == 1 ]] || fail "no arguments: exit $status, $err"
sed -i '3s/.*/2,1.5,50,1,abc,99,0.1,1,100,test/' runs/relu-s1/metrics.csv
run report runs --out rep
[[ $status == 1 && $(wc -l <"$work/err") == 1 && $err == "error: runs/relu-s1/metrics.csv:3: eval_top1: 'abc' is not a number" ]] \
  || fail "corrupt metrics.csv: exit $status, $err"

# Real runs: 1 epoch of VGG-11 on 48 synthetic CIFAR-10 images, ReLU and SUGAR.
write_synthetic_cifar10 "$work/cifar" "10 10 10 10 8" 32
cat >tiny.yaml <<YAML
name: tiny
seed: 1
model: {name: vgg11}
data: {name: cifar10, root: $work/cifar}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: constant}
train: {epochs: 1, batch_size: 16, eval_batch_size: 32, threads: 1}
YAML
run train tiny.yaml --out real/relu --no-progress
[[ $status == 0 ]] || fail "train relu exited $status: $err"
run train tiny.yaml --set 'model.activation=sugar(surrogate=bsilu)' --out real/sugar --no-progress
[[ $status == 0 ]] || fail "train sugar exited $status: $err"
run report real --out real-report
[[ $status == 0 ]] || fail "report on real runs exited $status: $err"
relu_top1=$(sed -n 2p real/relu/metrics.csv | cut -d, -f5)
[[ $(grep '^relu ' <<<"$out") =~ relu\ +test\ +1\ +$(printf '%.2f' "$relu_top1")\ +baseline ]] \
  || fail "real relu row (top-1 $relu_top1): $out"
if [[ -f real/relu/neurons.csv ]]; then
  grep -q '^## Dead neurons' real-report/report.md || fail "runs with neurons.csv but no dead-neuron section"
fi
echo "ok: table, report.md, report.csv, plots, unfinished runs, errors, rewrite and real runs"
