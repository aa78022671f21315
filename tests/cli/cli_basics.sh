#!/usr/bin/env bash
# The sugar program as a newcomer meets it: --version, --help, a mistyped command, a bad option value,
# and a short demo run that must actually learn.
# usage: cli_basics.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run, write_synthetic_cifar10

# --version: Sugar's version and the oneDNN version actually loaded (2.x, as built against).
run --version
[[ $status == 0 ]] || fail "--version exited $status"
[[ $out =~ ^sugar\ [0-9]+\.[0-9]+\.[0-9]+\ \(commit\ ([0-9a-f]{12}(-dirty)?|unknown)\) ]] || fail "--version does not start with 'sugar X.Y.Z (commit ...)': $out"
[[ $out =~ oneDNN\ 2\.[0-9]+\.[0-9]+ ]] || fail "--version does not name the oneDNN version: $out"

# --help: lists the global options and the demo command, with examples.
run --help
[[ $status == 0 ]] || fail "--help exited $status"
for word in --threads --log-level --version demo Examples; do
  [[ $out == *"$word"* ]] || fail "--help does not mention '$word'"
done
run demo --help
[[ $status == 0 && $out == *--epochs* && $out == *--batch* && $out == *--seed* ]] || fail "demo --help lacks its options: $out"

# A mistyped command: exit code 2 (usage) and exactly one line on stderr naming it.
run frobnicate
[[ $status == 2 ]] || fail "an unknown command exited $status, expected 2"
[[ $(wc -l <"$work/err") == 1 ]] || fail "an unknown command printed more than one line: $err"
[[ $err == "error: unknown command 'frobnicate'"* ]] || fail "unexpected message for an unknown command: $err"
[[ -z $out ]] || fail "an unknown command wrote to stdout: $out"

# A bad option value: exit code 2, one line.
run --threads -3 demo
[[ $status == 2 && $(wc -l <"$work/err") == 1 && $err == error:* ]] || fail "--threads -3: exit $status, stderr: $err"
run demo --epochs 0
[[ $status == 2 && $(wc -l <"$work/err") == 1 && $err == error:*--epochs* ]] || fail "--epochs 0: exit $status, stderr: $err"
run --log-level loud demo
[[ $status == 2 && $err == error:*--log-level* ]] || fail "--log-level loud: exit $status, stderr: $err"

# A short demo on one thread (ctest runs tests side by side on few cores): two epoch lines, a final
# line, and it learns (4 classes: chance is 25%).
min_accuracy=80
run --threads 1 demo --epochs 2
[[ $status == 0 ]] || fail "demo --epochs 2 exited $status: $err"
[[ $(grep -c '^epoch ' "$work/out") == 2 ]] || fail "demo --epochs 2 did not print two epoch lines: $out"
final=$(grep '^demo: test accuracy' "$work/out") || fail "demo printed no final line: $out"
accuracy=$(sed -E 's/^demo: test accuracy ([0-9.]+)%.*/\1/' <<<"$final")
awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }' \
  || fail "demo reached only $accuracy% test accuracy after 2 epochs, expected at least $min_accuracy%"
[[ $final == *", 1 thread)"* ]] || fail "--threads 1 did not reach the demo: $final"

# Same seed and threads, same numbers: a second run prints identical loss and accuracy.
strip_speed() { sed -E 's/ +[0-9]+ img\/s//; s/ \([0-9.]+ s, /(/' "$work/out"; }
first=$(strip_speed)
run --threads 1 demo --epochs 2
[[ $(strip_speed) == "$first" ]] || fail "two runs with the same seed differ: $first vs $(strip_speed)"
echo "ok: --version, --help, usage errors and a 2-epoch demo at $accuracy% test accuracy"
