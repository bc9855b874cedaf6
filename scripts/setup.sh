#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs the given requirements files (or, for a
# folder such as ./emulator, that distribution) into it.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" - <<'PY' || { echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
for what in "$@"; do
  if [ -d "$what" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$what"
  else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$what"
  fi
done
