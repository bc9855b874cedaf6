"""A session ends for good: at sign-out, whatever requests of it are still running, and
when it has been idle or alive for too long."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses
from app_helpers import sign_out, signed_in
from redis_server import redis_server_fixture  # noqa: F401 - the redis_server fixture

from app_config import load_settings

GRAPH = "https://graph.microsoft.com/v1.0"
EXPIRED_TOKEN = {"error": {"code": "InvalidAuthenticationToken", "message": "Token expired."}}


@pytest.fixture(params=["filesystem", "redis"])
def env(request, env):
    """Every test here runs on both backends."""
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        env |= {"SESSION_TYPE": "redis", "REDIS_URL": server.url}
    return env


@pytest.fixture
def app(app):
    yield app
    app.session_interface.close()  # no Redis connection left for the garbage collector


def another_tab(app, client):
    """The same browser's other tab: the same session cookie."""
    tab = app.test_client()
    tab.set_cookie("session", client.get_cookie("session").value)
    return tab


def test_a_request_that_outlives_sign_out_does_not_sign_the_browser_in_again(
    app, signed_in_client, http_mock
):
    old_cookie = signed_in_client.get_cookie("session").value

    def slow_graph(request):
        # While Graph takes its time, the user signs out in another tab; then Graph refuses
        # the token and the first request renews it, which changes its copy of the session.
        assert sign_out(another_tab(app, signed_in_client)).status_code == 303
        return 401, {"Content-Type": "application/json"}, json.dumps(EXPIRED_TOKEN)

    http_mock.add_callback(responses.GET, f"{GRAPH}/me", callback=slow_graph)
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302  # the token was renewed: load the page again
    assert not any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))
    assert signed_in_client.get_cookie("session").value == old_cookie
    assert not signed_in(signed_in_client)


# Short lifetimes so the tests read plainly: ten minutes idle, an hour in all.
IDLE, LIFETIME = timedelta(minutes=10), timedelta(hours=1)


@pytest.fixture
def clock(time_machine, env):
    """Time that moves only when the test says (everything reads it, cachelib's expiry too)."""
    env |= {"SESSION_IDLE_TIMEOUT": "600", "SESSION_LIFETIME": "3600"}
    time_machine.move_to(datetime.now(UTC), tick=False)
    return time_machine


def sends_to_sign_in(client, path="/graphcall") -> bool:
    response = client.get(path)
    return response.status_code == 302 and response.headers["Location"].startswith("/login?")


def test_a_session_idle_for_longer_than_the_idle_timeout_ends(clock, signed_in_client):
    for _ in range(3):  # active for longer than the idle timeout in all: still signed in
        clock.shift(IDLE - timedelta(minutes=1))
        assert signed_in(signed_in_client)
    clock.shift(IDLE + timedelta(seconds=1))
    # The browser still sends the cookie (it has not expired): the server refuses it.
    assert sends_to_sign_in(signed_in_client)
    assert not signed_in(signed_in_client)


def test_the_home_page_says_once_that_an_idle_session_expired(clock, signed_in_client):
    clock.shift(IDLE + timedelta(seconds=1))
    home = signed_in_client.get("/").get_data(as_text=True)
    assert "Your session expired; sign in again." in home
    assert "Welcome" not in home
    # Its cookie was cleared with that page: the next visit is a plain signed-out one.
    assert "Your session expired" not in signed_in_client.get("/").get_data(as_text=True)


def test_a_session_older_than_the_session_lifetime_ends_however_active(
    clock, signed_in_client, emulator_graph
):
    signed_in_at = datetime.now(UTC)
    while datetime.now(UTC) + IDLE / 2 < signed_in_at + LIFETIME:
        clock.shift(IDLE / 2)
        # The profile from Graph: in the last minutes before the hour, tokens are renewed.
        assert signed_in_client.get("/graphcall").status_code == 200
    clock.shift(IDLE / 2)
    assert sends_to_sign_in(signed_in_client)
    assert not signed_in(signed_in_client)


def test_page_views_note_the_last_visit_at_most_once_a_minute(clock, signed_in_client):
    def writes_session() -> bool:
        header = signed_in_client.get("/").headers.getlist("Set-Cookie")
        return any(c.startswith("session=") for c in header)

    clock.shift(timedelta(seconds=30))
    assert not writes_session()
    clock.shift(timedelta(seconds=31))
    assert writes_session()
    clock.shift(timedelta(seconds=59))
    assert not writes_session()


def test_the_store_forgets_a_session_by_itself_within_the_idle_timeout(clock, signed_in_client):
    """What sign-out says when the store is down: the stored copy expires by itself."""
    interface = signed_in_client.application.session_interface
    key = "session:" + signed_in_client.get_cookie("session").value
    clock.shift(IDLE - timedelta(seconds=1))
    assert signed_in(signed_in_client)  # the last visit, which noted itself
    if interface.redis_client is not None:
        assert 0 < interface.redis_client.ttl(key) <= IDLE.total_seconds()
    else:
        clock.shift(IDLE)
        assert interface.cache.get(key) is None  # cachelib's own expiry, not our check


def test_session_timeouts_have_safe_defaults_and_must_agree():
    minimal = {
        "CLIENT_ID": "00000000-0000-0000-0000-000000000001",
        "CLIENT_SECRET": "s",
        "FLASK_DEBUG": "1",
    }
    settings, problems = load_settings(minimal)
    assert not problems
    assert (settings.session_idle_timeout, settings.session_lifetime) == (30 * 60, 8 * 3600)
    _, problems = load_settings(
        minimal | {"SESSION_IDLE_TIMEOUT": "3600", "SESSION_LIFETIME": "1800"}
    )
    assert [p.variable for p in problems] == ["SESSION_IDLE_TIMEOUT"]
