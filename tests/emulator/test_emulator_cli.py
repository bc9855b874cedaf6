"""python -m entra_emulator: the ready line, emulator.json, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_cli_writes_settings_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "entra_emulator",
            "--https-port",
            "0",
            "--http-port",
            "0",
            "--state-dir",
            str(tmp_path),
            "--redirect-uri",
            "http://localhost:5001/getAToken",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line == f"emulator ready: {tmp_path / 'emulator.json'}"
        settings = json.loads((tmp_path / "emulator.json").read_text(encoding="utf-8"))
        assert settings["pid"] == process.pid
        with requests.Session() as session:
            session.trust_env = False
            session.verify = settings["ca_bundle"]
            discovery = session.get(
                f"{settings['authority']}/v2.0/.well-known/openid-configuration", timeout=10
            ).json()
        assert discovery["authorization_endpoint"].startswith(settings["browser_base"])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()


def test_cli_refuses_a_non_loopback_host(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "entra_emulator", "--host", "192.0.2.1"]
        + ["--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "loopback" in result.stderr
