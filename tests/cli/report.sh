#!/usr/bin/env bash
# `sugar report` as a user runs it: hand-written run directories (2 activations x 3 seeds plus an
# interrupted run) give the table on stdout with the hand-computed numbers, report.md, report.csv
# and PNG plots; a corrupt metrics.csv, no runs and a foreign --out folder are one-line errors; a
# second report replaces only its own files. The per-epoch spread and train/test gap in report.md and
# epochs.csv are the hand-computed ones. Last, two real 1-epoch `sugar train` runs on synthetic CIFAR-10
# files: the report reads what the trainer writes, and sites.csv and the heat maps show its neurons.csv.
# usage: report.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10
source "$(dirname "${BASH_SOURCE[0]}")/lib/report_runs.sh"   # make_run

# relu final 80, 82, 84: mean 82, std 2. sugar 85, 86.5, 88: mean 86.5, std 1.5. Paired by seed the
# differences are 5, 4.5, 4: mean 4.5, std 0.5, 95% CI 4.5 -/+ 4.3027 * 0.5 / sqrt(3) = [3.26, 5.74].
# Mean curves: relu 52 62 72 82, sugar 61.5 71.5 81.5 86.5: first epoch >= 75 is 4 and 3.
# Train top-1 is 50 but for relu's last epoch (90): the train - test gap at epoch 4 is relu 10, 8, 6
# (mean 8, std 2) and sugar 50 - 85, 50 - 86.5, 50 - 88 (mean -36.5, std 1.5).
make_run relu-s0 relu 0 finished 50 60 70 80/90
make_run relu-s1 relu 1 finished 52 62 72 82/90
make_run relu-s2 relu 2 finished 54 64 74 84/90
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

for f in report.md report.csv epochs.csv; do [[ -s rep/$f ]] || fail "rep/$f is missing or empty"; done
[[ ! -e rep/sites.csv ]] || fail "sites.csv written for runs without neurons.csv"
grep -q '^| relu | test | 3 | 82.00 ± 2.00 | baseline | — | 4 |$' rep/report.md || fail "report.md: $(cat rep/report.md)"
grep -q '^relu,test,3,0 1 2,82,2,' rep/report.csv || fail "report.csv: $(cat rep/report.csv)"
grep -q ',relu,3,4.5,0.5,3.257931144,5.742068856,0.95,75,3$' rep/report.csv || fail "report.csv sugar row: $(cat rep/report.csv)"
# Over the epochs: mean ± std [lowest, highest seed] per epoch, test top-1 and the gap.
grep -q '^## Over the epochs$' rep/report.md || fail "report.md has no 'Over the epochs' section"
grep -qF '| 1 | 52.00 ± 2.00 [50.00, 54.00] | 61.50 ± 1.50 [60.00, 63.00] |' rep/report.md \
  || fail "report.md, test top-1 at epoch 1: $(sed -n '/Over the epochs/,$p' rep/report.md)"
grep -qF '| 4 | 8.00 ± 2.00 [6.00, 10.00] | -36.50 ± 1.50 [-38.00, -35.00] |' rep/report.md \
  || fail "report.md, gap at epoch 4: $(sed -n '/Over the epochs/,$p' rep/report.md)"
grep -qF -- "- relu: no seed's test top-1 fell from one evaluation to the next." rep/report.md \
  || fail "report.md: falls"
# relu at epoch 4: test 80 82 84, train 90 90 90, gap 10 8 6, train loss 1 1 1 (n, mean, std, min, max each).
grep -q '^relu,4,3,82,2,80,84,3,90,0,90,90,3,8,2,6,10,3,1,0,1,1$' rep/epochs.csv \
  || fail "epochs.csv: $(cat rep/epochs.csv)"
if grep -q 'built without cairo' rep/report.md; then
  echo "note: sugar was built without cairo, plots not checked"
else
  for metric in eval_top1 train_loss top1_gap; do
    png=rep/${metric}_resnet18_cifar10.png
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
[[ -f real/relu/neurons.csv ]] || fail "the trainer wrote no neurons.csv"
grep -q '^## Dead neurons' real-report/report.md || fail "runs with neurons.csv but no dead-neuron section"
# One run per group: sites.csv's mean dead fraction and gradient reach are the run's own neurons.csv values.
[[ $(grep -c '^relu,' real-report/sites.csv) == $(($(wc -l <real/relu/neurons.csv) - 1)) ]] \
  || fail "sites.csv has not one relu row per neurons.csv row: $(cat real-report/sites.csv)"
awk -F, 'NR == FNR { if (FNR > 1) { dead[$2] = $3; reach[$2] = $6 }; next }
         $1 == "relu" && $3 == 1 {
           if ($4 != 1 || ($5 - dead[$2])^2 > 1e-12 || $9 != 1 || ($10 - reach[$2])^2 > 1e-12) { print; bad = 1 }
           seen++ }
         END { exit bad || seen == 0 }' real/relu/neurons.csv real-report/sites.csv \
  || fail "sites.csv does not hold neurons.csv's values: $(cat real-report/sites.csv)"
if ! grep -q 'built without cairo' real-report/report.md; then
  for png in real-report/dead_fraction_vgg11_cifar10.png real-report/grad_reach_vgg11_cifar10.png; do
    [[ $(head -c 8 "$png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png is not a PNG"
    grep -q "($(basename "$png"))" real-report/report.md || fail "report.md does not link $png"
  done
fi
echo "ok: table, report.md, report.csv, plots, unfinished runs, errors, rewrite and real runs"
