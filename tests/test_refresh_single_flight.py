"""One refresh per signed-in session at a time, and no token-cache update is lost.

Each test runs with file sessions and with Redis sessions (a real redis-server on a
free loopback port). Parallel requests are separate test clients sharing one session
cookie, as a page's photos are separate browser requests; the emulator, in-process,
answers the token endpoint and Graph.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import responses
from app_helpers import SignIn

from app import create_app

ROOT = Path(__file__).resolve().parents[1]
GRAPH_HOST = re.compile(r"https://graph\.microsoft\.com/")
BURST = 12  # a page with a dozen photos
WAIT = 30  # seconds: the longest any thread of a test waits for another (a bound, not a timing)
# Another worker: holds the session's refresh lock until its stdin closes.
HOLDER = """
import json, sys
from app_config import load_settings
from auth.refresh_lock import build_refresh_lock
settings, problems = load_settings(json.loads(sys.argv[1]))
assert not problems, problems
with build_refresh_lock(settings).held(sys.argv[2]) as held:
    print("held" if held else "not held", flush=True)
    sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_ping(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (scripts/test.sh installs it)"
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(
        args, cwd=tmp_path_factory.mktemp("redis"), stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + WAIT
        while not answers_ping(url):
            assert process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["files", "redis"])
def store_env(request, env) -> dict[str, str]:
    """The app's environment with file sessions, or with Redis sessions in an empty db."""
    if request.param == "files":
        return env
    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return env | {"SESSION_TYPE": "redis", "REDIS_URL": url}


class InFlight:
    """Holds each request of a burst, once its session is open, until all of them are:
    so every one starts from the session as it was before any of them refreshed."""

    def __init__(self, app) -> None:
        self.app = app
        self.barrier: threading.Barrier | None = None
        app.before_request(self._wait)  # registered before the app serves any request

    def _wait(self) -> None:
        if self.barrier is not None:
            self.barrier.wait()

    def burst(self, cookie: str, path: str, size: int = BURST) -> list[tuple[int, str | None]]:
        """SIZE parallel GETs of PATH in the session: each one's status and Location."""
        self.barrier = threading.Barrier(size, timeout=WAIT)
        answers: list[tuple[int, str | None] | None] = [None] * size

        def view(i: int) -> None:
            client = self.app.test_client()
            client.set_cookie("session", cookie)
            response = client.get(path)
            answers[i] = (response.status_code, response.headers.get("Location"))

        threads = [threading.Thread(target=view, args=(i,)) for i in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=2 * WAIT)
        self.barrier = None
        return answers


def signed_in(app, emulator) -> str:
    """Adele signs in while access tokens live 60 s (MSAL: expired); her session cookie."""
    client = app.test_client()
    emulator.set_access_token_lifetime(60)
    assert SignIn(client, emulator)().status_code == 303
    emulator.set_access_token_lifetime(3600)
    return client.get_cookie("session").value


def grants(token_endpoint, since: int) -> list[str]:
    return [call.form["grant_type"] for call in token_endpoint.calls()[since:]]


def test_a_dozen_photos_with_an_expired_token_redeem_the_refresh_token_once(
    store_env, emulator_graph, token_endpoint
):
    app = create_app(store_env)
    in_flight = InFlight(app)
    cookie = signed_in(app, emulator_graph)
    before = len(token_endpoint.calls())
    assert in_flight.burst(cookie, "/photo/me") == [(200, None)] * BURST
    assert grants(token_endpoint, before) == ["refresh_token"]


def test_a_dozen_requests_whose_token_graph_refuses_renew_it_once(
    store_env, emulator_graph, token_endpoint
):
    app = create_app(store_env)
    in_flight = InFlight(app)
    client = app.test_client()
    assert SignIn(client, emulator_graph)().status_code == 303
    emulator_graph.expire_tokens()  # Graph now answers 401 to the token MSAL still trusts
    before = len(token_endpoint.calls())
    answers = in_flight.burst(client.get_cookie("session").value, "/graphcall")
    assert answers == [(302, "/graphcall")] * BURST  # renewed: load the page again
    assert grants(token_endpoint, before) == ["refresh_token"]
    assert client.get("/graphcall").status_code == 200
    assert grants(token_endpoint, before) == ["refresh_token"]


def test_a_slow_page_does_not_put_back_tokens_older_than_a_later_refresh(
    store_env, emulator, http_mock, token_endpoint
):
    app = create_app(store_env)
    arrived, release = threading.Event(), threading.Event()
    first_me = []

    def graph(request):
        if urlsplit(request.url).path == "/v1.0/me" and not first_me:
            first_me.append(request)
            arrived.set()
            assert release.wait(WAIT)
        return emulator.responses_callback(request)

    for method in (responses.GET, responses.POST):
        http_mock.add_callback(method, GRAPH_HOST, callback=graph)
    cookie = signed_in(app, emulator)
    emulator.set_access_token_lifetime(60)  # the slow page's refresh is expired at once too
    slow_status = []

    def slow_page() -> None:
        client = app.test_client()
        client.set_cookie("session", cookie)
        slow_status.append(client.get("/graphcall").status_code)

    slow = threading.Thread(target=slow_page)
    slow.start()
    assert arrived.wait(WAIT)  # it refreshed, and Graph is slow to answer it
    emulator.set_access_token_lifetime(3600)
    later = app.test_client()
    later.set_cookie("session", cookie)
    assert later.get("/graphcall").status_code == 200  # refreshes again, to a 1-hour token
    newest = token_endpoint.calls()[-1].answer["access_token"]
    release.set()
    slow.join(timeout=WAIT)
    assert slow_status == [200]

    before, graph_calls = len(token_endpoint.calls()), len(http_mock.calls)
    assert later.get("/graphcall").status_code == 200
    assert grants(token_endpoint, before) == []  # the newest tokens were kept
    (me,) = [c for c in http_mock.calls[graph_calls:] if urlsplit(c.request.url).path == "/v1.0/me"]
    assert me.request.headers["Authorization"] == f"Bearer {newest}"


@contextlib.contextmanager
def another_worker_holding_the_lock(env: dict[str, str], session_id: str) -> Iterator[None]:
    """A separate process, configured as the app is, holds the session's refresh lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, json.dumps(env), session_id],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=WAIT)
        holder.stdout.close()


def test_a_valid_cached_token_takes_no_lock_and_writes_nothing(
    store_env, emulator_graph, token_endpoint, caplog
):
    app = create_app(store_env)
    client = app.test_client()
    assert SignIn(client, emulator_graph)().status_code == 303
    before = len(token_endpoint.calls())
    with another_worker_holding_the_lock(store_env, client.get_cookie("session").value):
        response = client.get("/graphcall")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers  # the session was not saved
    assert grants(token_endpoint, before) == []
    assert "refresh lock" not in caplog.text  # it did not wait for the lock


def test_a_refresh_waits_briefly_for_another_workers_lock_then_goes_ahead(
    store_env, emulator_graph, token_endpoint, caplog
):
    app = create_app(store_env)
    cookie = signed_in(app, emulator_graph)
    client = app.test_client()
    client.set_cookie("session", cookie)
    before = len(token_endpoint.calls())
    with another_worker_holding_the_lock(store_env, cookie):
        assert client.get("/photo/me").status_code == 200
    assert grants(token_endpoint, before) == ["refresh_token"]
    assert caplog.text.count("refresh lock not had in 3 s: refreshing without it") == 1


def test_file_locks_leave_nothing_in_the_session_folder(env, emulator_graph, token_endpoint):
    app = create_app(env)
    in_flight = InFlight(app)
    cookie = signed_in(app, emulator_graph)
    before = len(token_endpoint.calls())
    assert in_flight.burst(cookie, "/photo/me", size=3) == [(200, None)] * 3
    assert grants(token_endpoint, before) == ["refresh_token"]
    assert list(Path(env["SESSION_FILE_DIR"]).glob("refresh-lock-*")) == []
