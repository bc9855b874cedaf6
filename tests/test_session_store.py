"""Sessions live server-side; a store that cannot be reached gets a clear page."""

from __future__ import annotations

import socket

from app import create_app


def closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


def test_unreachable_redis_is_a_clear_503_not_a_crash(env, caplog):
    env |= {"SESSION_TYPE": "redis", "REDIS_URL": f"redis://127.0.0.1:{closed_loopback_port()}/0"}
    client = create_app(env).test_client()
    client.set_cookie("session", "a-returning-visitor")
    response = client.get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert "session store unavailable: ConnectionError" in caplog.text


def test_session_cookie_holds_only_an_opaque_id(signed_in_client):
    cookie = signed_in_client.get_cookie("session")
    # A cookie-based session would carry the data itself: long, with signature dots.
    assert cookie.http_only
    assert len(cookie.value) <= 64 and "." not in cookie.value


def test_unreachable_redis_at_sign_in_is_a_clear_503(env, emulator):
    env |= {"SESSION_TYPE": "redis", "REDIS_URL": f"redis://127.0.0.1:{closed_loopback_port()}/0"}
    client = create_app(env).test_client()
    for response in (client.get("/login"), client.post("/getAToken", data={"state": "s"})):
        assert response.status_code == 503
        assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_an_unwritable_session_folder_is_a_configuration_problem(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    client = create_app(env | {"SESSION_FILE_DIR": str(blocker / "sessions")}).test_client()
    response = client.get("/")
    assert response.status_code == 503
    assert "SESSION_FILE_DIR" in response.get_data(as_text=True)
