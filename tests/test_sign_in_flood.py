"""Anonymous sign-ins are bounded: small records, a few per browser, gone once expired.

Anyone can call /login, and each call keeps a pending sign-in until its callback, so
what a call may store is capped on every backend: files (the default) and Redis (a
real redis-server on a free loopback port).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import redis
from app_helpers import ADELE

from app import create_app
from app_config import load_settings
from expiring_files import ExpiringFileCache

EVERY_DECLARED_SCOPE = "every scope a page declares"
# The caps of auth/sign_in.py, restated: a test that imported them would follow any change.
NEXT_CAP = 1024
CLAIMS_CAP = 512
RECORD_BUDGET = 2048


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (scripts/test.sh installs it)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.025)  # waiting for the server to listen, not timing anything
        else:
            pytest.fail("redis-server did not start")
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


class FileRecords:
    """Every file the app wrote under the test's folder (sessions and sign-ins)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def all(self) -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in self.folder.rglob("*") if p.is_file()}


class RedisRecords:
    """Every key in the Redis database the app uses, with its raw value."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)

    def all(self) -> dict[str, bytes]:
        return {key.decode(): self.client.get(key) for key in self.client.scan_iter()}


@pytest.fixture
def redis_records(redis_url) -> Iterator[RedisRecords]:
    records = RedisRecords(redis_url)
    records.client.flushdb()
    yield records
    records.client.close()


@pytest.fixture(params=["files", "redis"])
def backend(request, env, emulator, tmp_path):
    """(app, records) on each session backend, Redis emptied first."""
    if request.param == "files":
        return create_app(env), FileRecords(tmp_path)
    records = request.getfixturevalue("redis_records")
    url = request.getfixturevalue("redis_url")
    return create_app(env | {"SESSION_TYPE": "redis", "REDIS_URL": url}), records


def login(client, **params) -> str:
    """/login with PARAMS; the state of the sign-in it started."""
    response = client.get("/login?" + urlencode(params, doseq=True))
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def claims_of(length: int) -> str:
    """A JSON object, shaped as a claims challenge, of LENGTH bytes once kept (escaped)."""
    head, tail = '{"access_token":{"xms_pad":"', '"}}'
    escapes = (head + tail).count('"')
    return head + "x" * (length - 2 - escapes - len(head) - len(tail)) + tail


def holding(records, state: str) -> list[str]:
    return [name for name, value in records.all().items() if state.encode() in value]


def host_of(length: int) -> str:
    """A host name of LENGTH characters, in labels of at most 63 as DNS has them."""
    labels = ["a" * 62] * ((length - 9) // 63)
    return ".".join([*labels, "b" * (length - 8 - 63 * len(labels))]) + ".example"


# The longest host /login accepts: its redirect URI has 300 characters.
LONGEST_HOST = host_of(300 - len("http:///getAToken"))


@pytest.mark.parametrize(
    "host, params",
    [
        ("localhost", {"next": "/" + "a" * 60_000, "claims": claims_of(100_000)}),
        # The most a request can make the app keep: everything at its cap, every scope.
        (
            LONGEST_HOST,
            {
                "next": "/" + "a" * (NEXT_CAP - 1),
                "claims": claims_of(CLAIMS_CAP),
                "scope": EVERY_DECLARED_SCOPE,
            },
        ),
        # Under the cap in characters, 3.6 KB once escaped (JSON writes \u00e9 in 6 bytes).
        ("localhost", {"next": "/files/" + "\u00e9" * 600}),
    ],
    ids=["60KB-next-100KB-claims", "at-the-caps", "escaped-next"],
)
def test_a_pending_sign_in_stays_under_2_kb_whatever_the_request_carries(backend, host, params):
    app, records = backend
    if params.get("scope") == EVERY_DECLARED_SCOPE:
        params = params | {"scope": sorted(app.extensions["auth"].declared_scopes)}
    response = app.test_client().get(
        "/login?" + urlencode(params, doseq=True), base_url=f"http://{host}"
    )
    assert response.status_code == 302
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    assert holding(records, state), "the pending sign-in was stored"
    sizes = {name: len(value) for name, value in records.all().items()}
    assert max(sizes.values()) < RECORD_BUDGET, sizes


def test_a_next_longer_than_the_cap_leads_home_after_sign_in(client_sign_in):
    response = client_sign_in("/people?q=" + "x" * NEXT_CAP)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_a_next_at_the_cap_is_kept(client_sign_in):
    next_path = "/people?q=" + "x" * (NEXT_CAP - len("/people?q="))
    response = client_sign_in(next_path)
    assert response.status_code == 303
    assert response.headers["Location"] == next_path


@pytest.mark.parametrize("length, asked", [(CLAIMS_CAP, True), (CLAIMS_CAP + 1, False)])
def test_claims_longer_than_the_cap_are_not_asked_for(client, emulator, length, asked):
    claims = claims_of(length)
    response = client.get("/login?" + urlencode({"claims": claims}))
    assert response.status_code == 302
    sent = parse_qs(urlsplit(response.headers["Location"]).query).get("claims", ["{}"])[0]
    assert ("xms_pad" in json.loads(sent)["access_token"]) is asked


def test_a_host_header_no_browser_sends_stores_nothing(env, emulator, tmp_path):
    # In development, with neither REDIRECT_URI nor TRUSTED_HOSTS, the request's host counts.
    development = {k: v for k, v in env.items() if k != "REDIRECT_URI"} | {"FLASK_DEBUG": "1"}
    client = create_app(development).test_client()
    records = FileRecords(tmp_path)
    before = records.all()
    host = ".".join(["a" * 60] * 50) + ".example"  # 3,058 characters; DNS allows 253
    response = client.get("/login?next=/", base_url=f"http://{host}")
    assert response.status_code == 400
    assert records.all() == before


def test_a_browsers_sixth_sign_in_drops_its_oldest(backend, emulator):
    app, _ = backend
    browser = app.test_client()
    started = []
    for _ in range(6):
        response = browser.get("/login?next=/")
        started.append(response.headers["Location"])
    oldest = emulator.sign_in(started[0], ADELE)
    response = browser.post("/getAToken", data=oldest, follow_redirects=True)
    assert response.status_code == 400
    assert "Your sign-in expired" in response.get_data(as_text=True)
    for auth_uri in started[1:]:
        form = emulator.sign_in(auth_uri, ADELE)
        assert browser.post("/getAToken", data=form).status_code == 303


def test_clients_without_cookies_do_not_drop_each_others_sign_ins(backend, emulator):
    """Each is a browser of its own: six of them leave six sign-ins that all still work."""
    app, _ = backend
    anonymous = app.test_client(use_cookies=False)
    started = [anonymous.get("/login?next=/") for _ in range(6)]
    for response in started:
        form = emulator.sign_in(response.headers["Location"], ADELE)
        browser = app.test_client()
        for cookie in response.headers.getlist("Set-Cookie"):
            name, value = cookie.split(";", 1)[0].split("=", 1)
            browser.set_cookie(name, value)
        assert browser.post("/getAToken", data=form).status_code == 303


def test_expired_sign_ins_are_gone_from_disk(app, tmp_path, time_machine):
    time_machine.move_to(datetime.now(UTC))
    records = FileRecords(tmp_path)
    anonymous = app.test_client(use_cookies=False)
    flood = [login(anonymous, next="/" + "a" * 1000) for _ in range(3)]
    assert all(holding(records, state) for state in flood)
    # Ten minutes' timeout, and the tenth of it in which its folder of files expires.
    time_machine.shift(timedelta(minutes=11))
    latest = login(anonymous)
    assert [state for state in flood if holding(records, state)] == []
    assert holding(records, latest)


def test_every_redis_key_of_a_sign_in_expires(redis_url, redis_records, env, emulator):
    app = create_app(env | {"SESSION_TYPE": "redis", "REDIS_URL": redis_url})
    records = redis_records
    browser = app.test_client()
    for _ in range(3):
        login(browser, next="/")
    login(app.test_client(use_cookies=False), next="/")
    ttls = {key: records.client.ttl(key) for key in records.all()}
    assert len(ttls) >= 4  # the four sign-ins, and whatever else they keep
    assert all(0 < ttl <= 600 for ttl in ttls.values()), ttls


def test_a_pending_sign_in_file_can_be_deleted_only_once(tmp_path):
    """Of two racing callbacks for one state, only the one whose delete succeeds goes on."""
    store = ExpiringFileCache(str(tmp_path), max_timeout=600)
    assert store.set("authflow:s", {"next_path": "/"}, timeout=600)
    assert store.get("authflow:s") == {"next_path": "/"}
    assert store.delete("authflow:s") is True
    assert store.delete("authflow:s") is False
    assert store.get("authflow:s") is None


def test_a_rewritten_record_keeps_only_its_latest_copy(tmp_path, time_machine):
    time_machine.move_to(datetime.now(UTC))
    store = ExpiringFileCache(str(tmp_path), max_timeout=600)
    store.set("authflow-browser:b", ["first"], timeout=600)
    time_machine.shift(timedelta(minutes=5))
    store.set("authflow-browser:b", ["first", "second"], timeout=600)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    time_machine.shift(timedelta(minutes=7))  # past the first write's expiry, not the second's
    store.set("authflow:other", {}, timeout=600)
    assert store.get("authflow-browser:b") == ["first", "second"]


def test_pending_sign_ins_live_beside_file_sessions_unless_told(env):
    settings, _ = load_settings(env)
    assert settings.sign_in_file_dir == env["SESSION_FILE_DIR"] + "_sign_ins"
    settings, _ = load_settings(env | {"SIGN_IN_FILE_DIR": "/var/cache/app-sign-ins"})
    assert settings.sign_in_file_dir == "/var/cache/app-sign-ins"


def test_a_sign_in_folder_that_cannot_be_written_is_a_clear_503(env, emulator, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = create_app(env | {"SIGN_IN_FILE_DIR": str(blocker / "sign-ins")}).test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert "cannot write pending sign-ins in" in caplog.text
