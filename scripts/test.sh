#!/usr/bin/env bash
# README command 2: set up and run every test (unit, emulator, browser).
# Browser tests need Chromium and the Redis test needs redis-server; as root
# this installs them with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Please install: ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi
bash scripts/setup.sh requirements-dev.txt
.venv/bin/ruff check .
# pytest exits 5 when it collected nothing; that is a failure too (set -e).
.venv/bin/python -m pytest "$@"
