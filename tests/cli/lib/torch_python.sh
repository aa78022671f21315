# Shared by the tests that compare Sugar with PyTorch (tests/cli/torch_*.sh; this folder is not itself
# a test). Source it after lib/common.sh: it sets $python to an interpreter that imports torch, or fails.
#
# Debian installs torch for the system interpreter; a python3 earlier on PATH (pyenv, a venv) may lack
# it, so /usr/bin/python3 is tried too. Missing torch is a failure, not a skip: the checks are required.
python=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
[[ -n $python ]] || fail "PyTorch is not installed (Debian package python3-torch): run \`bash scripts/setup.sh --tests\`"
