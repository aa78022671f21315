#!/usr/bin/env bash
# Hostile values are usage errors (issue 16, class 6 and the config half of class 1). Every config key
# the program lists (`sugar train --list-keys`, generated from the key table, so a key added later is
# covered here without anyone remembering to) gets absurd values of its kind through --set; then the
# numeric options of demo, report, sweep, bench and activations, and control bytes / broken UTF-8 in
# values, YAML files and file names. Each case must: exit 2 within 30 s, print exactly one stderr line
# starting with 'error:' that holds the given words (the key or option, the allowed range), hold no
# raw control byte (below 0x20, 0x7f) and only valid UTF-8, and leave no run directory behind.
# usage: hostile_usage.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"
cd "$work"

run_guarded() {
  set +e
  timeout 30 "$sugar" "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  err=$(cat "$work/err")
}

# expect NAME 'word|word|...' -- ARGS...: runs sugar ARGS and checks the contract above (exit 2).
checked=0
expect() {
  local name=$1 words=$2
  shift 3
  run_guarded "$@"
  [[ $status != 124 ]] || fail "$name: no answer within 30 s"
  [[ $status == 2 ]] || fail "$name: exit $status, expected 2; stderr: $err"
  [[ $(wc -l <"$work/err") == 1 && $err == error:* ]] || fail "$name: stderr is not one 'error:' line: $err"
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$work/err"; then fail "$name: a raw control byte in: $err"; fi
  iconv -f UTF-8 -t UTF-8 "$work/err" >/dev/null 2>&1 || fail "$name: the error line is not valid UTF-8: $err"
  local word
  IFS='|' read -ra word_list <<<"$words"
  for word in "${word_list[@]}"; do
    [[ $err == *"$word"* ]] || fail "$name: '$word' is missing from: $err"
  done
  [[ ! -e runs ]] || fail "$name: a failed command left runs/ behind"
  checked=$((checked + 1))
}

cat >good.yaml <<YAML
name: good
model: {name: vgg11}
data: {name: cifar10, root: $work/no-data}
optim: {name: sgd, lr: 0.02, momentum: 0.9}
schedule: {name: cosine}
train: {epochs: 1, batch_size: 8, threads: 1, neuron_stats: false}
YAML
# The control: good.yaml itself is fine, and fails only for its (absent) data, exit 1.
run_guarded train good.yaml --out "$work/control"
[[ $status == 1 && $err == *"no-data"* ]] || fail "good.yaml did not get as far as its data: exit $status: $err"
rm -rf "$work/control"

# ---- every key, from the program's own list ------------------------------------------------------
run_guarded train --list-keys
[[ $status == 0 ]] || fail "train --list-keys: exit $status: $err"
keys=$(awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 " " $2 }' "$work/out")  # the table ends at the first blank line
[[ $(wc -l <<<"$keys") -ge 48 ]] || fail "train --list-keys lists only $(wc -l <<<"$keys") keys"
grep -q '^data.image_size  *integer  *a whole number in \[1, 1024\]  *32$' "$work/out" || fail "no image_size row: $(cat "$work/out")"
grep -q '^train.threads  *integer  *a whole number in \[0, 4096\]' "$work/out" || fail "no threads row"
long=$(printf 'x%.0s' {1..5000})
key_cases=0
while read -r key kind; do
  case $kind in
    integer | number) values=(1e300 -1e300 nan inf 18446744073709551616 -9223372036854775809) ;;
    integer-list | number-list) values=('[1e300]' '[nan]' '[-9223372036854775809]') ;;
    text) values=("$long") ;;
    choice) values=($'\e[31mred' "$long") ;;
    flag) values=(nan 2 $'\e[31m') ;;
    *) fail "--list-keys gave $key an unknown kind '$kind'" ;;
  esac
  for value in "${values[@]}"; do
    words="--set $key=|$key"
    [[ $kind == integer || $kind == number ]] && words+="|in "  # the range: "in [1, 1024]"
    expect "$key=${value:0:30}" "$words" -- train good.yaml --set "$key=$value"
    key_cases=$((key_cases + 1))
  done
done <<<"$keys"

# ---- the examples of class 6 ---------------------------------------------------------------------
# threads: a config key, and the global option that stands for it
expect threads-huge 'train.threads|must be in [0, 4096]|got 100000' -- train good.yaml --set train.threads=100000
expect threads-negative 'train.threads|[0, 4096]' -- train good.yaml --set train.threads=-1
expect threads-nan 'train.threads|[0, 4096]' -- train good.yaml --set train.threads=nan
expect global-threads-huge '--threads|[0, 4096]|100000' -- --threads 100000 train good.yaml
expect global-threads-nan '--threads|[0, 4096]' -- --threads nan demo
# epochs that overflowed the schedule's step count (signed overflow, "total_iters must be > 0, got -4")
expect epochs-max-cosine 'train.epochs|[1, 1000000]|9223372036854775807' -- \
  train good.yaml --set train.epochs=9223372036854775807
expect epochs-max-one-cycle 'train.epochs|[1, 1000000]' -- \
  train good.yaml --set schedule.name=one_cycle --set train.epochs=9223372036854775807
expect epochs-past-int64 'train.epochs|[1, 1000000]|9223372036854775808' -- \
  train good.yaml --set train.epochs=9223372036854775808
expect epochs-warmup-max 'schedule.warmup_epochs|[0, 999999]' -- \
  train good.yaml --set schedule.warmup_epochs=9223372036854775807
# a run name becomes a directory name
long_name=$(printf 'n%.0s' {1..300})
expect name-300 'name: expected at most 128 bytes, got 300' -- train good.yaml --set "name=$long_name"
expect name-slash "name|cannot name a run directory" -- train good.yaml --set name=a/b
expect name-bad-utf8 'name|bad\xff|not printable UTF-8' -- train good.yaml --set $'name=bad\xff'
stem=$(printf 's%.0s' {1..200})
sed '/^name:/d' good.yaml >"$stem.yaml"
expect name-from-long-file-name "$stem.yaml|name: expected at most 128 bytes, got 200" -- train "$stem.yaml"
# report --target-acc
for value in nan inf -1 101; do
  expect "report-target-acc-$value" "--target-acc|[0, 100]|'$value'" -- report "$work" --target-acc "$value"
done
# sweep --stale-after (seconds; was converted to milliseconds without a check)
for value in nan 1e300 1e-300 -5 0; do
  expect "sweep-stale-after-$value" "--stale-after|[1, 604800]" -- sweep good.yaml --stale-after "$value"
done
expect sweep-jobs '--jobs|[1, 1024]' -- sweep good.yaml --jobs 9223372036854775808
# demo
for value in nan inf -1 0 1e300; do expect "demo-lr-$value" '--lr|[1e-06, 10]' -- demo --lr "$value"; done
for value in 0 nan 1001 1e3; do expect "demo-epochs-$value" '--epochs|[1, 1000]' -- demo --epochs "$value"; done
for value in 1 513 -3; do expect "demo-batch-$value" '--batch|[2, 512]' -- demo --batch "$value"; done
for value in -1 nan 18446744073709551616; do expect "demo-seed-$value" '--seed|18446744073709551615' -- demo --seed "$value"; done
# bench (checked before any model is built)
expect bench-batch-huge '--batch|[1, 4096]' -- bench --batch 100000
expect bench-batch-nan '--batch|[1, 4096]' -- bench --batch nan
expect bench-batch-zero '--batch|[1, 4096]' -- bench --batch 0
expect bench-classes '--classes|[2, 100000]' -- bench --classes 1e300
expect bench-classes-one '--classes|[2, 100000]' -- bench --classes 1
expect bench-threads '--threads|[0, 4096]' -- bench --threads 100000
expect bench-warmup '--warmup|[0, 1000]' -- bench --warmup -1
expect bench-iters '--iters|[1, 10000]' -- bench --iters 9223372036854775808
expect bench-seed '--seed' -- bench --seed -5
# activations eval / plot: finite points, at most 10,000 of them, a bounded plot range
points=$(seq -s, 0 10000)
expect eval-too-many-points 'activations eval --x|at most 10000 points|10001' -- activations eval relu "--x=$points"
expect eval-nan 'activations eval --x|nan|not a finite number' -- activations eval relu --x=1,nan
expect eval-inf 'activations eval --x|not a finite number' -- activations eval relu --x=1e39
expect eval-seed '--seed' -- activations eval relu --seed nan
expect plot-range-huge 'activations plot --range|[-1000000, 1000000]' -- activations plot relu --out p.png --range -1e30:1e30
expect plot-range-nan 'activations plot --range|not a finite number' -- activations plot relu --out p.png --range nan:1
expect plot-range-reversed 'activations plot --range|LOW must be below HIGH' -- activations plot relu --out p.png --range 1:-1
specs=()
for _ in $(seq 17); do specs+=(relu); done
expect plot-too-many-specs 'activations plot|at most 16 specs|17' -- activations plot "${specs[@]}" --out p.png
[[ ! -e p.png ]] || fail "a refused plot wrote p.png"

# ---- control bytes and broken UTF-8 reach the error line escaped ---------------------------------
expect esc-in-set 'name|\x1b[31m' -- train good.yaml --set $'name=\e[31m'
expect esc-in-choice 'model.name|\x1b[31mvgg' -- train good.yaml --set $'model.name=\e[31mvgg'
expect utf8-in-choice 'optim.name|\xff\xfe' -- train good.yaml --set $'optim.name=\xff\xfe'
expect c1-in-choice 'optim.name|\xc2\x9b' -- train good.yaml --set $'optim.name=\xc2\x9b31m'
expect esc-in-activation 'model.activation|\x1b' -- train good.yaml --set $'model.activation=\e[2J'
expect esc-in-key 'optim.lr\x1b|unknown key' -- train good.yaml --set $'optim.lr\e=1'
printf 'name: "\\e[31mred"\n' >esc-value.yaml  # YAML's \e is ESC
expect esc-in-yaml 'esc-value.yaml:1:7|name|\x1b[31mred' -- train esc-value.yaml
printf 'optim: {name: "\\x9b"}\n' >c1-value.yaml
expect c1-in-yaml 'c1-value.yaml|optim.name|\xc2\x9b' -- train c1-value.yaml
expect esc-in-missing-file 'bad\x1b[31m.yaml|no such file' -- train $'bad\e[31m.yaml'
cp good.yaml $'stem\e[1m.yaml' && sed -i '/^name:/d' $'stem\e[1m.yaml'
expect esc-in-file-stem 'stem\x1b[1m|name|cannot name a run directory' -- train $'stem\e[1m.yaml'
expect esc-in-option 'bogus\x1b' -- train good.yaml $'--bogus\e[0m'
expect esc-in-report-option "--target-acc|'\\x1b'" -- report "$work" --target-acc $'\e'

echo "hostile_usage: $checked cases ($key_cases generated from --list-keys) exit 2 with one clean line"
