#!/usr/bin/env bash
# `sugar tune` as a user runs it: it measures every convolution of a model again and replaces what this
# machine's store held, provisional or not; a later run takes a clear entry from the store without
# measuring, and measures a provisional one again; --reset forgets the store; bad arguments are one
# line with exit code 2. The store lives in a folder of the test's own (SUGAR_CACHE_DIR). Never a speed
# assertion: which algorithm wins is up to the machine, so the test checks that each entry says what
# its own timings decided.
# usage: tune.sh <sugar binary> <build dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh" "$@"   # $sugar, $work, fail, run
export SUGAR_CACHE_DIR=$work/cache

expect_usage_error "a CONFIG, --model NAME or --reset is required" tune
# The shorthands are --set of one key each: a model the registry lacks, or two values for one key.
expect_usage_error "--model resnet99: model.name: unknown model 'resnet99'" tune --model resnet99 --batch 2
expect_usage_error "--batch 4: train.batch_size: conflicts with --set train.batch_size=8" \
  tune --set train.batch_size=8 --batch 4
expect_usage_error "train.batch_size 6 does not split evenly over 4 ranks" tune --model vgg11 --batch 6 --ranks 4
SUGAR_CACHE_DIR=off expect_usage_error "store of convolution algorithm choices is off" tune --model vgg11

# The store's entries whose key contains SUBSTRING (all without one), one per line:
# key <TAB> forward backward_data backward_weights <TAB> provisional <TAB> note.
# Checked as $(entries ...), never piped into `grep -q`: under pipefail, grep leaving early breaks the
# pipe and fails the pipeline, which made a check flaky and an `... && fail` check unable to fail.
entries() {
  python3 - "$SUGAR_CACHE_DIR" "${1:-}" <<'PY'
import glob, json, sys
files = [f for f in glob.glob(sys.argv[1] + "/conv-algorithms-*.json")]
assert len(files) == 1, files
for key, c in sorted(json.load(open(files[0]))["choices"].items()):
    if sys.argv[2] in key:
        print("\t".join([key, " ".join([c["forward"], c["backward_data"], c["backward_weights"]]),
                         str(c["provisional"]).lower(), c["note"]]))
PY
}

# Every measured pass of an entry runs what its note says it decided ("forward winograd: ...").
check_entries_follow_their_notes() {
  python3 - "$SUGAR_CACHE_DIR" <<'PY'
import glob, json, re, sys
for key, c in json.load(open(glob.glob(sys.argv[1] + "/conv-algorithms-*.json")[0]))["choices"].items():
    for p in ("forward", "backward_data", "backward_weights"):
        m = re.search(r"(?:^|; )" + p + r" (direct|winograd): ", c["note"])
        if m and m.group(1) != c[p]:
            sys.exit(f"{key}: {p} runs {c[p]} but the note says {m.group(1)}: {c['note']}")
    provisional = "prior" in c["note"]
    if provisional != c["provisional"]:
        sys.exit(f"{key}: provisional is {c['provisional']} but the note says: {c['note']}")
PY
}

run --threads 1 tune --model vgg11 --batch 2
[[ $status == 0 ]] || fail "tune exited $status: $err"
[[ $out == *"vgg11 on 3x32x32 images, batch 2, f32, 1 threads: 8 convolution layers:"* ]] || fail "tune's summary: $out"
[[ $out == *"kept in $SUGAR_CACHE_DIR/conv-algorithms-"* ]] || fail "tune does not say where: $out"
[[ $(entries | wc -l) -ge 7 ]] || fail "tune stored $(entries | wc -l) entries: $(entries)"
[[ -n $(entries "1 threads | forward+backward_weights | batch 2 | plain input | f32 3x32x32->64x32x32") ]] ||
  fail "the stem's entry is not keyed by threads, passes, batch and layout: $(entries)"
check_entries_follow_their_notes || fail "an entry does not run what it decided"

# Make one entry provisional with the opposite algorithms and a note of our own: tune replaces it.
edit_entry() {  # edit_entry KEY_SUBSTRING PROVISIONAL
  python3 - "$SUGAR_CACHE_DIR" "$1" "$2" <<'PY'
import glob, json, sys
f = glob.glob(sys.argv[1] + "/conv-algorithms-*.json")[0]
d = json.load(open(f))
key = next(k for k in d["choices"] if sys.argv[2] in k)
c = d["choices"][key]
for p in ("forward", "backward_data", "backward_weights"):
    c[p] = "direct" if c[p] == "winograd" else "winograd"
c["provisional"] = sys.argv[3] == "true"
c["note"] = "edited by the test"
json.dump(d, open(f, "w"))
PY
}
layer="batch 2 | blocked input | f32 64x16x16->128x16x16"
# The entry must be there for the edits below to mean anything.
[[ -n $(entries "$layer") ]] || fail "no entry for '$layer': $(entries)"
if ! grep -q avx512f /proc/cpuinfo; then
  # Without AVX-512, oneDNN 2.6 has no Winograd: every entry is direct and an edited one naming
  # winograd is refused and re-measured (tested in test_conv_algorithm); nothing more to check here.
  echo "tune: ok (no AVX-512: the edits of stored entries are not checked)"
  exit 0
fi
edit_entry "$layer" true
run --threads 1 tune --model vgg11 --batch 2
[[ $status == 0 ]] || fail "the second tune exited $status: $err"
[[ -n $(entries "$layer") ]] || fail "tune dropped the entry for '$layer'"
[[ $(entries "$layer") == *"edited by the test"* ]] && fail "tune kept the provisional entry: $(entries "$layer")"
check_entries_follow_their_notes || fail "the re-measured entry does not run what it decided"

# A clear entry is what a later run takes, without measuring: edit it (clear, opposite algorithms) and
# sugar bench runs the edited algorithms. A provisional one is measured again by that run.
edit_entry "$layer" false
run --threads 1 bench --model vgg11 --batch 2 --warmup 0 --iters 1 --json
[[ $status == 0 ]] || fail "bench exited $status: $err"
[[ $(entries "$layer") == *"edited by the test"* ]] || fail "bench re-measured a clear entry"
python3 - "$out" "$layer" <<'PY' || fail "bench did not run the stored clear choice"
import json, sys
layers = json.loads(sys.argv[1])["conv_algo"]["layers"]
hits = [c for c in layers.values() if c["layer"].startswith(sys.argv[2].split(" | ")[-1])]
assert hits and all(c["source"] == "machine cache" and c["note"] == "edited by the test" for c in hits), hits
PY
edit_entry "$layer" true
run --threads 1 bench --model vgg11 --batch 2 --warmup 0 --iters 1 --json
[[ $status == 0 ]] || fail "bench after a provisional entry exited $status: $err"
[[ -n $(entries "$layer") ]] || fail "bench dropped the entry for '$layer'"
[[ $(entries "$layer") == *"edited by the test"* ]] && fail "bench took a provisional entry without measuring it"
check_entries_follow_their_notes || fail "the entry bench re-measured does not run what it decided"

# A damaged store is moved aside and rebuilt; --reset forgets it.
file=$(ls "$SUGAR_CACHE_DIR"/conv-algorithms-*.json)
echo '{"choices": ' >"$file"
run --threads 1 tune --model vgg11 --batch 2
[[ $status == 0 ]] || fail "tune on a damaged store exited $status: $err"
[[ $err == *"not valid JSON; moved to $file.corrupt"* ]] || fail "no warning about the damaged store: $err"
[[ $(cat "$file.corrupt") == '{"choices": ' ]] || fail "the damaged store was not kept aside"
check_entries_follow_their_notes || fail "the rebuilt store is wrong"
run tune --reset
[[ $status == 0 && $out == "forgot this machine's convolution algorithm choices: deleted $file" ]] || fail "--reset: $status $out $err"
[[ ! -e $file ]] || fail "--reset left $file"
run tune --reset
[[ $status == 0 && $out == "no choices stored yet ($file)" ]] || fail "a second --reset: $status $out"
echo "tune: ok"
