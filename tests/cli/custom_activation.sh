#!/usr/bin/env bash
# A user's own activation, registered in a program outside the library (apps/examples/custom_activation)
# that then hands over to sugar::cli::main: the new name works in `activations list/eval/plot` and as
# a SUGAR surrogate, with values from the closed form; the stock sugar program does not know it.
# usage: custom_activation.sh <sugar binary> <build dir>
set -euo pipefail
sugar=$1
custom=$2/bin/custom_activation
work=$(mktemp -d /tmp/sugar-custom-activation.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x $custom ]] || fail "the example program $custom was not built"

run() {
  set +e
  "$@" >"$work/out" 2>"$work/err"
  status=$?
  set -e
  out=$(cat "$work/out")
  err=$(cat "$work/err")
}

# Compares the CSV on stdout with expected "x y grad" rows, to 1e-6.
expect_csv() {
  local expected=$1
  [[ $(head -n1 <<<"$out") == "x,y,grad" ]] || fail "CSV header is not x,y,grad: $out"
  paste -d' ' <(tail -n +2 <<<"$out" | tr ',' ' ') <(echo "$expected") | awk -v what="$2" '
    NF != 6 { print "FAIL: " what ": row " NR " has the wrong number of fields: " $0 > "/dev/stderr"; bad = 1; next }
    {
      for (i = 1; i <= 3; i++) {
        d = $i - $(i + 3); if (d < 0) d = -d
        if (d > 1e-6) { print "FAIL: " what ": row " NR " column " i " is " $i ", expected " $(i + 3) > "/dev/stderr"; bad = 1 }
      }
    }
    END { exit bad }' || fail "$2 gave: $out"
}

# squareplus(x; b) = (x + sqrt(x^2 + b)) / 2, derivative (1 + x / sqrt(x^2 + b)) / 2.
run "$custom" activations eval 'squareplus(b=4)' --x=-2,0,1
[[ $status == 0 ]] || fail "eval squareplus exited $status: $err"
expect_csv "-2 0.41421356 0.14644661
0 1 0.5
1 1.61803399 0.72360680" "squareplus(b=4)"

# As a SUGAR surrogate (flat parameter): forward ReLU, backward squareplus'(x; b=1) everywhere.
run "$custom" activations eval 'sugar(surrogate=squareplus, b=1)' --x=-2,0,1
[[ $status == 0 ]] || fail "eval sugar(surrogate=squareplus, b=1) exited $status: $err"
expect_csv "-2 0 0.05278640
0 0 0.5
1 1 0.85355339" "sugar(surrogate=squareplus, b=1)"

# region=negative keeps ReLU's gradient 1 above 0; the default b=4 applies below.
run "$custom" activations eval 'sugar(surrogate=squareplus, region=negative)' --x=-2,1
[[ $status == 0 ]] || fail "eval with region=negative exited $status: $err"
expect_csv "-2 0 0.14644661
1 1 1" "sugar(surrogate=squareplus, region=negative)"

# Listed with its parameter and default.
run "$custom" activations list
[[ $status == 0 ]] || fail "activations list exited $status: $err"
grep -E '^squareplus +b=4 +no ' <<<"$out" >/dev/null || fail "activations list does not show 'squareplus b=4 no': $out"

# Plotted.
run "$custom" activations plot squareplus 'sugar(surrogate=squareplus)' --out "$work/squareplus.png" --range -4:4
[[ $status == 0 ]] || fail "activations plot exited $status: $err"
[[ $(head -c 8 "$work/squareplus.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "the plot is not a PNG"

# The stock program has no such activation: a usage error on one line, with a suggestion.
run "$sugar" activations eval 'squareplus' --x=1
[[ $status == 2 ]] || fail "the stock sugar accepted squareplus (exit $status)"
[[ $(wc -l <"$work/err") == 1 && $err == "error: unknown activation 'squareplus'; did you mean"* ]] ||
  fail "unexpected error for an unknown activation: $err"
# A bad parameter value for the custom row is a usage error too, naming the allowed values.
run "$custom" activations eval 'squareplus(b=-1)' --x=1
[[ $status == 2 && $err == *"b=-1 is out of range (number in (0, 1e+06])"* ]] || fail "squareplus(b=-1): exit $status, $err"
echo "custom_activation: OK"
