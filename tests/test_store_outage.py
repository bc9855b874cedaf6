"""Redis paused or down: a clear 503 page, one log line, sign-out still works, nobody loses out."""

from __future__ import annotations

import json
import logging

import pytest
import responses
from app_helpers import sign_out_form_token, signed_in
from redis_server import redis_server_fixture  # noqa: F401 - the redis_server fixture

from app_config import load_settings

GRAPH = "https://graph.microsoft.com/v1.0"
EXPIRED_TOKEN = {"error": {"code": "InvalidAuthenticationToken", "message": "Token expired."}}
# What redis-py raises: a paused server accepts connections but never answers.
OUTAGES = {"paused": "TimeoutError", "down": "ConnectionError"}


@pytest.fixture
def env(env, redis_server):
    return env | {"SESSION_TYPE": "redis", "REDIS_URL": redis_server.url, "REDIS_TIMEOUT": "0.3"}


@pytest.fixture(params=OUTAGES)
def outage(request, redis_server):
    """The outage as a context manager, and the error it shows up as."""
    return getattr(redis_server, request.param), OUTAGES[request.param]


@pytest.fixture
def app(app):
    yield app
    app.session_interface.close()  # no Redis connection left for the garbage collector


def error_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def assert_no_traceback(caplog) -> None:
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_pages_during_an_outage_are_a_clear_503_and_afterwards_everyone_is_still_signed_in(
    signed_in_client, outage, caplog
):
    during, error = outage
    caplog.clear()
    with during():
        answers = [signed_in_client.get(path) for path in ("/", "/graphcall", "/people")]
    for answer in answers:
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "30"
        assert "Temporarily unavailable" in answer.get_data(as_text=True)
        assert "Set-Cookie" not in answer.headers
    assert error_lines(caplog) == [f"session store unavailable: {error}"] * 3
    assert_no_traceback(caplog)
    assert signed_in(signed_in_client)


def test_signing_out_during_an_outage_clears_the_cookie_and_says_the_session_will_expire(
    signed_in_client, outage, caplog
):
    during, error = outage
    token = sign_out_form_token(signed_in_client)
    caplog.clear()
    with during():
        forged = signed_in_client.post("/logout", data={"csrf_token": "forged"})
        response = signed_in_client.post("/logout", data={"csrf_token": token})
    assert forged.status_code == 400  # still no logout CSRF
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "You are signed out in this browser" in page
    assert "expires by itself" in page
    assert signed_in_client.get_cookie("session") is None
    assert len(error_lines(caplog)) == 1 and error in error_lines(caplog)[0]
    assert_no_traceback(caplog)
    assert not signed_in(signed_in_client)


def test_a_store_that_fails_before_the_session_is_saved_is_a_clear_503(
    signed_in_client, redis_server, http_mock, caplog
):
    def graph_then_outage(request):
        # Graph refuses the token; by the time the renewed tokens are saved, Redis is frozen.
        redis_server.pause()
        return 401, {"Content-Type": "application/json"}, json.dumps(EXPIRED_TOKEN)

    http_mock.add_callback(responses.GET, f"{GRAPH}/me", callback=graph_then_outage)
    caplog.clear()
    try:
        response = signed_in_client.get("/graphcall")
    finally:
        redis_server.resume()
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    assert error_lines(caplog) == ["session store unavailable: TimeoutError"]
    assert_no_traceback(caplog)
    assert signed_in(signed_in_client)


@pytest.mark.parametrize("name", ["REDIS_TIMEOUT", "REDIS_CONNECT_TIMEOUT"])
def test_store_timeouts_are_checked_settings(name):
    _, problems = load_settings(
        {
            "CLIENT_ID": "00000000-0000-0000-0000-000000000001",
            "CLIENT_SECRET": "s",
            "FLASK_DEBUG": "1",
            name: "0",
        }
    )
    assert [p.variable for p in problems] == [name]
