"""Count token requests while a page's dozen photos load with an expired access token.

Runs the app as production does, under gunicorn (4 workers, 4 threads each), with
file sessions and with Redis sessions (when redis-server is installed), against the
local emulator over real HTTPS. Each round signs a demo user in while access tokens
live 60 s (so MSAL treats them as expired at once), then sends 12 parallel
/photo/me requests with that session's cookie, as a page with 12 photos would.

    .venv/bin/python scripts/benchmark_refresh_burst.py [--rounds 5]

It prints, per backend, the refresh-token requests the emulator answered per burst,
whether every response was a 200, and the token requests of one more view after the
burst (more than 0 there means a burst request wrote an older token cache over a
newer one). Counts, not timings: they are exact and repeatable.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from entra_emulator import start  # noqa: E402
from entra_emulator.scripted_browser import Browser  # noqa: E402

BURST = 12
USER = "adele@contoso.example"
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {START_TIMEOUT} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def sign_in(app_url: str, emulator) -> requests.Session:
    """/login, the emulator's account picker and consent, then the form_post back."""
    http = requests.Session()
    auth_uri = http.get(f"{app_url}/login?next=/", allow_redirects=False, timeout=30)
    browser = Browser(emulator.trusting_session())
    browser.open(auth_uri.headers["Location"])
    browser.pick_user(USER)
    if "Permissions requested" in browser.page.text:  # the first round only
        browser.consent()
    action, fields = browser.auth_response()
    done = http.post(app_url + urlsplit(action).path, data=fields, allow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    return http


def burst(app_url: str, cookies) -> list[int]:
    """BURST parallel photo requests of one session, released together."""
    ready = threading.Barrier(BURST, timeout=30)
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        with requests.Session() as http:
            http.cookies.update(cookies)
            ready.wait()
            status = http.get(f"{app_url}/photo/me", allow_redirects=False, timeout=60).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return statuses


def token_requests(emulator) -> int:
    return emulator.counters()["token"]


def run_backend(
    name: str, port: int, extra_env: dict[str, str], emulator, tmp: Path, rounds: int
) -> None:
    app_url = f"http://localhost:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env |= {
        "CLIENT_ID": emulator.client_id,
        "CLIENT_SECRET": emulator.client_secret,
        "AUTHORITY": emulator.authority,
        "INSTANCE_DISCOVERY": "false",
        "GRAPH_ENDPOINT": emulator.graph_endpoint,
        "REQUESTS_CA_BUNDLE": emulator.ca_bundle,
        "REDIRECT_URI": f"{app_url}/getAToken",
        "SECRET_KEY": os.urandom(32).hex(),
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "SESSION_FILE_DIR": str(tmp / f"sessions-{name}"),
    } | extra_env
    args = [sys.executable, "-m", "gunicorn", "--workers", "4", "--threads", "4"]
    args += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:create_app()"]
    with open(tmp / f"app-{name}.log", "wb") as log:
        app = subprocess.Popen(  # noqa: S603 - fixed arguments, no user input
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(port, app, "gunicorn")
            print(f"{name} sessions, gunicorn 4 workers x 4 threads, {BURST} parallel /photo/me:")
            print(f"{'round':>7}{'refreshes':>11}{'all 200':>9}{'next view':>11}")
            for round_ in range(1, rounds + 1):
                emulator.set_access_token_lifetime(60)  # under MSAL's 5 minutes: expired
                http = sign_in(app_url, emulator)
                emulator.set_access_token_lifetime(3600)
                before = token_requests(emulator)
                statuses = burst(app_url, http.cookies)
                during = token_requests(emulator) - before
                after = http.get(f"{app_url}/photo/me", allow_redirects=False, timeout=60)
                assert after.status_code == 200, after.status_code
                following = token_requests(emulator) - before - during
                ok = "yes" if statuses == [200] * BURST else f"no {sorted(statuses)}"
                print(f"{round_:>7}{during:>11}{ok:>9}{following:>11}")
        finally:
            stop(app)
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="bursts per backend")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ports = {"file": free_port(), "Redis": free_port()}
        redirect_uris = [f"http://localhost:{port}/getAToken" for port in ports.values()]
        emulator = start(tmp / "emulator", redirect_uris=redirect_uris)
        try:
            run_backend("file", ports["file"], {}, emulator, tmp, args.rounds)
            server = shutil.which("redis-server")
            if server is None:
                print("redis-server is not installed: Redis sessions not measured")
                return 0
            redis_port = free_port()
            redis_args = [server, "--port", str(redis_port), "--bind", "127.0.0.1"]
            redis_args += ["--save", "", "--appendonly", "no"]
            redis = subprocess.Popen(redis_args, cwd=tmp, stdout=subprocess.DEVNULL)  # noqa: S603
            try:
                wait_for_port(redis_port, redis, "redis-server")
                redis_env = {
                    "SESSION_TYPE": "redis",
                    "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                }
                run_backend("Redis", ports["Redis"], redis_env, emulator, tmp, args.rounds)
            finally:
                stop(redis)
        finally:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
