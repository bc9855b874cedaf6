"""entra-emulator: the ready line, emulator.json, and a clean exit on SIGTERM.

Run from a temporary folder, so what runs is the installed distribution, not the source tree.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from entra_emulator.net import trusting_session

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("entra-emulator"))


def test_cli_writes_settings_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen(
        [
            CONSOLE_SCRIPT,
            "--https-port",
            "0",
            "--http-port",
            "0",
            "--state-dir",
            str(tmp_path),
            "--redirect-uri",
            "http://localhost:5001/getAToken",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line == f"emulator ready: {tmp_path / 'emulator.json'}"
        settings = json.loads((tmp_path / "emulator.json").read_text(encoding="utf-8"))
        assert settings["pid"] == process.pid
        with trusting_session(settings["ca_bundle"]) as session:
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
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "loopback" in result.stderr
