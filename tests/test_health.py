"""/healthz: 200 while the app and its session store answer, 503 (quickly) when they do not."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis_server import redis_server_fixture  # noqa: F401 - the redis_server fixture

from app import create_app

REDIS_TIMEOUT = 0.3


def health(client, **kwargs):
    response = client.get("/healthz", **kwargs)
    return response.status_code, response.get_json(), response


def test_a_probe_gets_a_tiny_json_ok_and_no_cookie(client):
    status, body, response = health(client)
    assert status == 200
    assert body == {"status": "ok"}
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    head = client.head("/healthz")
    assert head.status_code == 200 and head.get_data() == b""


def test_a_probe_by_ip_address_is_answered_though_pages_refuse_that_host(env, emulator):
    client = create_app(env | {"TRUSTED_HOSTS": "localhost:5000"}).test_client()
    probe_host = {"Host": "10.1.2.3:8000"}  # how a Kubernetes probe addresses a pod
    assert client.get("/", headers=probe_host).status_code == 400
    status, body, _ = health(client, headers=probe_host)
    assert (status, body) == (200, {"status": "ok"})


def stored_sessions(folder) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_probe_writes_no_session_and_asks_no_identity_provider(
    signed_in_client, http_mock, tmp_path, time_machine
):
    sessions = tmp_path / "sessions"
    before = stored_sessions(sessions)
    calls_before = len(http_mock.calls)
    # Two minutes on, any page view notes the visit in the session; a probe must not.
    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=2))
    for _ in range(5):
        status, _, response = health(signed_in_client)
        assert status == 200 and "Set-Cookie" not in response.headers
    assert stored_sessions(sessions) == before
    assert len(http_mock.calls) == calls_before
    signed_in_client.get("/")
    assert stored_sessions(sessions) != before


def test_a_session_folder_that_is_gone_is_a_503_naming_the_store(client, tmp_path):
    sessions = tmp_path / "sessions"
    for path in sessions.iterdir():
        path.unlink()
    sessions.rmdir()
    sessions.write_text("a file where the session folder should be")
    status, body, _ = health(client)
    assert (status, body) == (503, {"status": "unavailable", "store": "filesystem"})


def test_an_app_with_configuration_problems_is_unavailable(tmp_path):
    client = create_app({"SESSION_FILE_DIR": str(tmp_path)}).test_client()
    status, body, _ = health(client)
    assert (status, body) == (503, {"status": "unavailable", "configuration": "invalid"})


class TestWithRedis:
    @pytest.fixture
    def env(self, env, redis_server):
        return env | {
            "SESSION_TYPE": "redis",
            "REDIS_URL": redis_server.url,
            "REDIS_TIMEOUT": str(REDIS_TIMEOUT),
        }

    @pytest.fixture
    def app(self, app):
        yield app
        app.session_interface.close()  # no Redis connection left for the garbage collector

    def test_redis_answering_is_ok(self, client):
        assert health(client)[:2] == (200, {"status": "ok"})

    @pytest.mark.parametrize("outage", ["paused", "down"])
    def test_redis_paused_or_down_is_a_503_within_its_timeout(
        self, client, redis_server, outage, caplog
    ):
        caplog.set_level(logging.INFO)
        assert health(client)[0] == 200
        with getattr(redis_server, outage)():
            started = time.monotonic()
            status, body, response = health(client)
            elapsed = time.monotonic() - started
            # A second probe during the same outage: no second warning.
            assert health(client)[0] == 503
        assert status == 503
        assert body == {"status": "unavailable", "store": "redis"}
        assert elapsed < REDIS_TIMEOUT + 1.0
        text = response.get_data(as_text=True)
        for leak in ("redis://", "127.0.0.1", str(redis_server.port), "Error"):
            assert leak not in text
        assert health(client)[:2] == (200, {"status": "ok"})
        lines = [r.getMessage() for r in caplog.records if r.name == "health"]
        assert len(lines) == 2
        assert lines[0].startswith("health: the redis session store does not answer (")
        assert lines[1] == "health: the redis session store answers again"


def test_the_probe_is_not_in_the_request_log_but_pages_are(client, caplog):
    caplog.set_level(logging.INFO)
    health(client)
    client.get("/")
    lines = [r.getMessage() for r in caplog.records if r.name == "request_log"]
    assert len(lines) == 1 and lines[0].startswith("GET / 200 ")
