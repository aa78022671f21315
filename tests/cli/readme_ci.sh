#!/usr/bin/env bash
# The README opens with the two commands a newcomer runs on a fresh machine, and .ci/run must run the
# second one verbatim. This checks the shape of the README's opening and that .ci/run has not drifted.
# usage: readme_ci.sh <sugar binary> <build dir>   (neither is used; the repository is found from here)
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
readme="$repo_root/README.md"
ci="$repo_root/.ci/run"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The n-th fenced code block of the README (1-based), with a leading "$ " prompt stripped from each
# line, as ../shared/tools/fresh-machine reads it. awk, not python: a fresh machine has no python.
fenced_block() {
  awk -v want="$1" '
    /^```/ { inside = !inside; if (inside) count++; next }
    inside && count == want { sub(/^\$ /, ""); print }
  ' "$readme"
}

[[ -f $readme ]] || fail "README.md is missing"
first=$(fenced_block 1)
second=$(fenced_block 2)
[[ -n $first ]] || fail "README.md has no first fenced code block"
[[ -n $second ]] || fail "README.md has no second fenced code block"
[[ $first == *"scripts/setup.sh"* && $first == *"sugar"* ]] \
  || fail "README command (1) should run scripts/setup.sh and then sugar; it is: $first"
[[ $second == *"scripts/setup.sh --tests"* && $second == *"ctest"* ]] \
  || fail "README command (2) should run scripts/setup.sh --tests and then ctest; it is: $second"

[[ -x $ci ]] || fail ".ci/run is missing or not executable"
grep -qx 'set -euo pipefail' "$ci" || fail ".ci/run does not 'set -euo pipefail'"
marker='# --- README command (2), verbatim ---'
grep -qxF -- "$marker" "$ci" || fail ".ci/run lacks the line '$marker'"
# The command runs from the marker to the end marker (or to the end of the file without one); CI steps
# that need what the command installed (the sanitizer build) follow the end marker.
end_marker='# --- end of README command (2) ---'
ci_command=$(awk -v marker="$marker" -v end="$end_marker" '$0 == end { exit } found { print } $0 == marker { found = 1 }' "$ci")
if [[ $ci_command != "$second" ]]; then
  echo "README command (2):" >&2
  echo "$second" >&2
  echo ".ci/run runs:" >&2
  echo "$ci_command" >&2
  fail ".ci/run does not run README command (2) verbatim"
fi
echo "ok: README opens with two commands; .ci/run runs the second verbatim"
