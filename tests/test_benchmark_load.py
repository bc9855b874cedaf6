"""scripts/benchmark_load.py, briefly: it runs, counts what a view costs, and cleans up.

A smoke test (one user, one page, one second of load): the benchmark itself is run by
hand (README, "Tests and measurements"); its timings are never asserted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(
    r"^(?P<name>/graphcall|reference /graphcall)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+"
    r"\s+(?P<errors>\d+)\s+(?P<graph>[\d.]+)\s+(?P<token>[\d.]+)\s+(?P<session>\d+|-)\s",
    re.MULTILINE,
)

pytestmark = pytest.mark.benchmark


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line or environment holds `text` (this test's folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                if text.encode() in (entry / part).read_bytes():
                    found.append(int(entry.name))
                    break
            except OSError:
                continue  # gone meanwhile, or not ours to read
    return found


def test_one_page_under_load_is_measured_and_every_process_is_stopped(tmp_path):
    # Its temporary folder, hence every process's state and sessions, lands in tmp_path.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN_"))}
    args = [sys.executable, str(ROOT / "scripts" / "benchmark_load.py"), "--users", "1"]
    args += ["--seconds", "1", "--concurrency", "2", "--workers", "1", "--threads", "2"]
    args += ["--page", "/graphcall", "--backend", "file"]
    done = subprocess.run(
        args, env=env | {"TMPDIR": str(tmp_path)}, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {m["name"]: m for m in ROW.finditer(done.stdout)}
    assert set(rows) == {"/graphcall", "reference /graphcall"}, done.stdout
    ours, reference = rows["/graphcall"], rows["reference /graphcall"]
    # One Graph call a view and no token request, for the app as for the reference.
    assert (ours["errors"], ours["graph"], ours["token"]) == ("0", "1.00", "0.00")
    assert (reference["errors"], reference["graph"], reference["token"]) == ("0", "1.00", "0.00")
    assert int(ours["session"]) > 0 and reference["session"] == "-"
    assert re.search(r"file sessions: /graphcall, ours/reference: throughput [\d.]+x", done.stdout)
    assert processes_mentioning(str(tmp_path)) == []
