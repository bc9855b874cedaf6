"""Start the emulator and the app as real processes, and stop them again."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet
from entra_emulator.net import trusting_session

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30


def wait_until(check, what: str, process: subprocess.Popen, timeout: float = START_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see its log")
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {timeout} s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self._log_file.close()


class EmulatorProcess(Process):
    """entra-emulator as its own process, found through the emulator.json it writes."""

    def __init__(self, state_dir: Path, redirect_uris: list[str], log: Path) -> None:
        args = [sys.executable, "-m", "entra_emulator", "--state-dir", str(state_dir)]
        args += ["--https-port", "0", "--http-port", "0"]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        info_path = state_dir / "emulator.json"
        super().__init__(args, dict(os.environ), log)
        wait_until(info_path.exists, "the emulator", self.popen)
        self.info = json.loads(info_path.read_text())
        self.http = trusting_session(self.info["ca_bundle"])

    def control(self, method: str, path: str, **json_body) -> dict:
        url = self.info["control_url"] + path
        response = self.http.request(method, url, json=json_body or None, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}

    def counters(self) -> dict:
        return self.control("GET", "/counters")


class App(Process):
    """The app, configured through its environment exactly as a user would."""

    def __init__(self, port: int, env: dict[str, str], log: Path, *, gunicorn: bool = False):
        if gunicorn:
            args = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "2"]
            args += ["--bind", f"127.0.0.1:{port}", "app:create_app()"]
        else:
            args = [sys.executable, "-m", "flask", "--app", "app", "run"]
            args += ["--host", "localhost", "--port", str(port)]
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        # As in production: the host and port it serves, so no Host header picks another.
        full_env["TRUSTED_HOSTS"] = f"localhost:{port}"
        super().__init__(args, full_env | env, log)
        self.url = f"http://localhost:{port}"
        wait_until(lambda: port_open(port), "the app", self.popen)


def app_env(emulator: EmulatorProcess, tmp: Path, *, oidc: bool = False) -> dict[str, str]:
    info = emulator.info
    env = {
        "CLIENT_ID": info["client_id"],
        "CLIENT_SECRET": info["client_secret"],
        "INSTANCE_DISCOVERY": "false",
        "GRAPH_ENDPOINT": info["graph_endpoint"],
        "REQUESTS_CA_BUNDLE": info["ca_bundle"],
        "SECRET_KEY": os.urandom(32).hex(),
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "SESSION_FILE_DIR": str(tmp / "sessions"),
    }
    if oidc:
        env["OIDC_AUTHORITY"] = info["oidc_authority"]
    else:
        env["AUTHORITY"] = info["common_authority"]  # as the demo: personal accounts too
    return env
