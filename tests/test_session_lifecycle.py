"""A session ends for good: at sign-out, whatever requests of it are still running."""

from __future__ import annotations

import json

import pytest
import responses
from app_helpers import sign_out
from redis_server import redis_server_fixture  # noqa: F401 - the redis_server fixture

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


def signed_in(client) -> bool:
    return "Welcome, Adele Vance" in client.get("/").get_data(as_text=True)


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
