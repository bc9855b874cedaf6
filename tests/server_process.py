"""The app under a real server (flask run, gunicorn) on a free loopback port, and its logs."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import requests
from entra_emulator.net import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30
STOP_TIMEOUT = 15


def app_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A configuration that serves pages needing no sign-in (nothing reaches an IdP)."""
    port = settings.pop("PORT")
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "GUNICORN_")) and k not in ("LOG_FORMAT", "PORT")
    }
    return inherited | {
        "CLIENT_ID": "00000000-0000-0000-0000-000000000001",
        "CLIENT_SECRET": "client-secret-for-a-server-test",
        "SECRET_KEY": "server-test-secret-key-0123456789abcdef",
        # A fixed, valid Fernet key (32 bytes, URL-safe base64): production requires one.
        "TOKEN_CACHE_KEY": "c2VydmVyLXRlc3QtdG9rZW4tY2FjaGUta2V5LTAwMDA=",
        "REDIRECT_URI": f"http://localhost:{port}/getAToken",
        "SESSION_FILE_DIR": str(tmp_path / "sessions"),
        **settings,
    }


class ServerProcess:
    """A server process whose stdout and stderr are kept apart, stopped by its own PID."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, folder: Path, cwd: Path):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.stdout_path, self.stderr_path = folder / "stdout.log", folder / "stderr.log"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        self._wait_until_listening()

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, allow_redirects=False, **kwargs)

    def stop(self) -> int:
        """SIGTERM, as a container runtime stops it; the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        return self.popen.returncode

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"the server exited with {self.popen.returncode}: {self.stderr}")
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not listen within {START_TIMEOUT} s: {self.stderr}")


__all__ = ["ROOT", "ServerProcess", "app_env", "free_port"]
