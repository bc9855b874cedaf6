#!/usr/bin/env bash
# The examples' tests in a fresh virtual environment with only what a user installs:
#   pip install ./emulator msal flask pytest
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here/.." msal flask pytest
cd "$here"
"$venv/bin/python" -m pytest
