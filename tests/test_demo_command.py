"""`bash scripts/demo.sh` as a user runs it: real processes, on free ports, in a copy of the
project (so the developer's .env, .state and sessions are never touched).

DEMO_SKIP_SETUP=1: the copy uses this checkout's .venv, which the test run already set up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from entra_emulator.net import free_port, trusting_session
from entra_emulator.scripted_browser import Browser

ROOT = Path(__file__).resolve().parents[1]
NOT_COPIED = {".git", ".env", ".state", ".venv", "scripts", "test-artifacts", "flask_session"}
NOT_COPIED |= {"flask_session_sign_ins", ".pytest_cache", ".ruff_cache", "__pycache__"}
BASH = shutil.which("bash")
DEMO = [BASH, "scripts/demo.sh"]
START_TIMEOUT = 60  # bounded, and generous: the machine may be busy
STOP_TIMEOUT = 20
STOPPED = "Stopped the app and the emulator."


class Demo:
    """One project copy, its ports, and the demo processes started in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.app_port, self.https_port, self.http_port = free_port(), free_port(), free_port()
        self.url = f"http://localhost:{self.app_port}"
        self.runs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def env(self, **more: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        return keep | {
            "APP_PORT": str(self.app_port),
            "EMULATOR_HTTPS_PORT": str(self.https_port),
            "EMULATOR_HTTP_PORT": str(self.http_port),
            "DEMO_SKIP_SETUP": "1",
            "PYTHON": sys.executable,
            **more,
        }

    def start(self, command: list[str] | None = None) -> subprocess.Popen:
        """Start the demo (or COMMAND, which starts it) in a process group of its own."""
        log = self.folder / f"demo-{len(self.runs)}.log"
        with open(log, "wb") as out:
            run = subprocess.Popen(
                command or DEMO,
                cwd=self.folder,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.runs.append(run)
        self.logs.append(log)
        return run

    def wait_until_serving(self, run: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert run.poll() is None, f"the demo exited:\n{self.log()}"
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the demo did not serve within {START_TIMEOUT} s:\n{self.log()}")

    def log(self) -> str:
        return self.logs[-1].read_text(encoding="utf-8", errors="replace")[-3000:]

    @property
    def emulator_info(self) -> dict:
        return json.loads((self.folder / ".state/emulator/emulator.json").read_text())

    def control(self, path: str, method: str = "POST") -> dict:
        info = self.emulator_info
        with trusting_session(info["ca_bundle"]) as http:
            response = http.request(method, info["control_url"] + path, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}

    def stop_all(self) -> None:
        """Whatever a failed test left running: our process groups, by their ids."""
        for run in self.runs:
            if group_alive(run.pid):
                os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=STOP_TIMEOUT)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_group_to_end(run: subprocess.Popen) -> None:
    """Until no process of RUN's group is left (RUN itself reaped, or it would count)."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while run.poll() is None or group_alive(run.pid):
        assert time.monotonic() < deadline, "processes of the demo are still running"
        time.sleep(0.1)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def demo(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in NOT_COPIED:
            (folder / entry.name).symlink_to(entry)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "scripts", folder / "scripts")
    started = Demo(folder)
    yield started
    started.stop_all()


def sign_in(demo: Demo, user: str = "adele@contoso.example") -> requests.Session:
    """A browser's sign-in: the app's /login, the emulator's pages, the form_post back."""
    app = requests.Session()
    login = app.get(f"{demo.url}/login?next=/graphcall", allow_redirects=False, timeout=10)
    browser = Browser()
    browser.open(login.headers["Location"])
    if "Pick an account" in browser.page.text:
        browser.pick_user(user)
    if "Permissions requested" in browser.page.text:
        browser.consent()
    action, fields = browser.auth_response()
    assert urlsplit(action).netloc == f"localhost:{demo.app_port}"  # follows APP_PORT
    back = app.post(action, data=fields, allow_redirects=False, timeout=10)
    assert back.status_code == 303, back.text[:500]
    return app


def profile(demo: Demo, app: requests.Session) -> requests.Response:
    """/graphcall, after any redirect (one that leads to a sign-in ends elsewhere)."""
    page = app.get(f"{demo.url}/graphcall", timeout=15)
    assert page.url == f"{demo.url}/graphcall", f"sent to {page.url}"
    return page


def state_files(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted((folder / ".state").rglob("*"))
        if p.is_file()
    }


def test_a_second_run_while_one_runs_changes_nothing_and_says_which_ports_are_taken(demo):
    first = demo.start()
    demo.wait_until_serving(first)
    sign_in(demo)
    before = state_files(demo.folder)

    second = subprocess.run(
        DEMO,
        cwd=demo.folder,
        env=demo.env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 1
    for variable, port in [
        ("APP_PORT", demo.app_port),
        ("EMULATOR_HTTPS_PORT", demo.https_port),
        ("EMULATOR_HTTP_PORT", demo.http_port),
    ]:
        assert f"Port {port} " in second.stderr and f"{variable}={port + 1}" in second.stderr
    assert "Another demo seems to be running here" in second.stderr
    assert state_files(demo.folder) == before
    # The first demo's app still trusts its emulator's certificate: a new sign-in works.
    assert "Adele Vance" in profile(demo, sign_in(demo)).text
    before = state_files(demo.folder)  # that sign-in was kept by the running emulator

    app_only = subprocess.run(
        DEMO,
        cwd=demo.folder,
        env=demo.env(EMULATOR_HTTPS_PORT=str(free_port()), EMULATOR_HTTP_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert app_only.returncode == 1
    assert f"Port {demo.app_port} (the app) is taken" in app_only.stderr
    assert "EMULATOR_HTTPS_PORT" not in app_only.stderr
    assert state_files(demo.folder) == before


def test_when_the_app_cannot_start_the_emulator_it_started_stops_too(demo):
    run = demo.start()
    settings = demo.folder / ".state/emulator/emulator.json"
    deadline = time.monotonic() + START_TIMEOUT
    while not settings.exists():
        assert time.monotonic() < deadline and run.poll() is None, demo.log()
        time.sleep(0.02)
    # The app's port is taken between the demo's check and the app's start.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", demo.app_port))
        squatter.listen()
        assert run.wait(timeout=START_TIMEOUT) != 0
        emulator_pid = demo.emulator_info["pid"]
        wait_for_group_to_end(run)
    output = demo.log()
    assert "The app stopped" in output and STOPPED in output
    with pytest.raises(ProcessLookupError):
        os.kill(emulator_pid, 0)
    assert not listening(demo.https_port) and not listening(demo.http_port)


def test_ctrl_c_stops_both_even_when_a_non_interactive_shell_started_it_in_the_background(demo):
    # Background jobs of a non-interactive shell start with SIGINT ignored.
    shell = demo.start([BASH, "-c", "bash scripts/demo.sh & wait"])
    demo.wait_until_serving(shell)
    os.killpg(shell.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
    wait_for_group_to_end(shell)
    assert STOPPED in demo.log()
    assert not listening(demo.app_port) and not listening(demo.https_port)


def test_sigterm_stops_both_and_a_restart_keeps_the_user_signed_in(demo):
    run = demo.start()
    demo.wait_until_serving(run)
    browser = sign_in(demo)
    assert "Adele Vance" in profile(demo, browser).text
    keys = {name: (demo.folder / ".state/app" / name).read_text() for name in ("secret_key",)}

    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=STOP_TIMEOUT) == 143
    wait_for_group_to_end(run)
    assert STOPPED in demo.log()
    assert not listening(demo.app_port) and not listening(demo.https_port)

    again = demo.start()
    demo.wait_until_serving(again)
    page = profile(demo, browser)
    assert page.status_code == 200 and "Adele Vance" in page.text
    # And once Graph refuses the access token, the refresh token from before still works.
    demo.control("/counters/reset")
    demo.control("/expire-tokens")
    page = profile(demo, browser)
    assert page.status_code == 200 and "Adele Vance" in page.text
    assert demo.control("/counters", "GET")["token"] == 1
    for name, value in keys.items():
        kept = demo.folder / ".state/app" / name
        assert kept.read_text() == value and stat.S_IMODE(kept.stat().st_mode) == 0o600

    again.send_signal(signal.SIGINT)  # Ctrl-C to the script alone: it stops both
    assert again.wait(timeout=STOP_TIMEOUT) == 130
    wait_for_group_to_end(again)
