"""Logs: one line per request with its id, auth events and Graph calls, never a secret or query."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys

import pytest
from app_helpers import ADELE, sign_out
from server_process import ROOT, ServerProcess, app_env, free_port

from app import create_app
from log_format import JsonFormatter

SEARCH_TERM = "secret-term"
GENERATED_ID = re.compile(r"[0-9a-f]{16}")


@pytest.fixture(autouse=True)
def info_lines(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "request_log"]


def test_each_request_is_one_line_with_its_id_and_no_query_values(client, caplog):
    response = client.get(f"/?q={SEARCH_TERM}&cursor=abc123")
    (line,) = request_lines(caplog)
    assert re.fullmatch(r"GET / 200 \d+ ms", line.getMessage())
    assert line.request_id == response.headers["X-Request-Id"]
    assert GENERATED_ID.fullmatch(line.request_id)
    assert SEARCH_TERM not in caplog.text and "abc123" not in caplog.text


def test_every_request_gets_its_own_id(client, caplog):
    first = client.get("/").headers["X-Request-Id"]
    second = client.get("/logout").headers["X-Request-Id"]
    assert first != second
    assert [r.request_id for r in request_lines(caplog)] == [first, second]


def test_a_proxys_request_id_is_kept(client, caplog):
    offered = "5f0c6c1e-8e0b-4c52-9c57-1f7a2b3c4d5e"
    response = client.get("/", headers={"X-Request-Id": offered})
    assert response.headers["X-Request-Id"] == offered
    assert request_lines(caplog)[0].request_id == offered


@pytest.mark.parametrize(
    "offered",
    [
        "abc\r\nINFO request_log: GET /admin 200",
        "a" * 65,
        "<script>alert(1)</script>",
        "two words",
        "caf\u00e9",
        "",
    ],
)
def test_a_hostile_or_odd_incoming_request_id_is_replaced(client, caplog, offered):
    # Set in the WSGI environment: the test client refuses header values with newlines.
    response = client.get("/", environ_overrides={"HTTP_X_REQUEST_ID": offered})
    request_id = response.headers["X-Request-Id"]
    assert GENERATED_ID.fullmatch(request_id)
    assert request_lines(caplog)[0].request_id == request_id
    if offered:
        assert offered not in caplog.text


def test_control_characters_in_a_path_cannot_forge_a_log_line(client, caplog):
    client.get("/files/a%0AINFO%20forged%1B[31m")
    (line,) = request_lines(caplog)
    message = line.getMessage()
    assert "\n" not in message and "\x1b" not in message
    assert message.startswith("GET /files/a%0AINFO%20forged%1B%5B31m ")


def test_a_very_long_path_is_cut_in_the_log(client, caplog):
    client.get("/" + "x" * 5000)
    (line,) = request_lines(caplog)
    assert len(line.getMessage()) < 400


def test_json_lines_parse_and_carry_the_request_fields(client, caplog):
    response = client.get(f"/people?q={SEARCH_TERM}")
    entries = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    (entry,) = [e for e in entries if e["logger"] == "request_log"]
    assert entry["method"] == "GET" and entry["path"] == "/people"
    assert entry["status"] == 302 and entry["duration_ms"] >= 0
    assert entry["request_id"] == response.headers["X-Request-Id"]
    assert entry["level"] == "INFO" and entry["time"].endswith("+00:00")
    assert SEARCH_TERM not in json.dumps(entries)


def test_log_format_is_validated(env, emulator):
    page = create_app(env | {"LOG_FORMAT": "xml"}).test_client().get("/")
    assert page.status_code == 503
    assert "LOG_FORMAT" in page.get_data(as_text=True)


def test_sign_in_refresh_graph_and_sign_out_are_logged_without_codes_or_tokens(
    client_sign_in, emulator_graph, token_endpoint, caplog
):
    client = client_sign_in.client
    emulator_graph.set_access_token_lifetime(60)  # MSAL refreshes tokens with under 5 minutes left
    form = client_sign_in.authorize("/")
    signed_in = client.post("/getAToken", data=form)
    session_cookie = client.get_cookie("session").value
    replayed = client.post("/getAToken", data=form)
    profile = client.get("/graphcall")
    assert profile.status_code == 200 and ADELE in profile.get_data(as_text=True)
    signed_out = sign_out(client)

    def ids_of(message: str) -> list[str]:
        return [r.request_id for r in caplog.records if r.getMessage() == message]

    assert ids_of("sign-in completed") == [signed_in.headers["X-Request-Id"]]
    assert ids_of("sign-in failed: no pending sign-in for this response") == [
        replayed.headers["X-Request-Id"]
    ]
    assert ids_of("token refresh completed") == [profile.headers["X-Request-Id"]]
    assert ids_of("sign-out completed") == [signed_out.headers["X-Request-Id"]]
    graph_lines = [r for r in caplog.records if r.name == "graph.client"]
    assert graph_lines and {r.request_id for r in graph_lines} == {profile.headers["X-Request-Id"]}

    secrets = [form["code"], form["state"], emulator_graph.client_secret, session_cookie]
    for call in token_endpoint.calls():
        secrets += [call.answer[k] for k in ("access_token", "refresh_token", "id_token")]
    as_text = caplog.text
    as_json = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for secret in secrets:
        assert secret not in as_text and secret not in as_json


def test_the_development_server_logs_our_line_and_never_the_query(tmp_path):
    port = free_port()
    env = app_env(tmp_path, PORT=str(port), LOG_FORMAT="json")
    args = [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]
    server = ServerProcess(args, env, port, tmp_path, cwd=ROOT)
    try:
        home = server.get(f"/?q={SEARCH_TERM}")
        people = server.get(f"/people?q={SEARCH_TERM}")
        missing = server.get(f"/nowhere?q={SEARCH_TERM}")
        # A request line of four words: the server logs it whole as an error.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(f"GET /?q={SEARCH_TERM} extra HTTP/1.1\r\n\r\n".encode())
            sock.recv(1024)
    finally:
        server.stop()
    assert (home.status_code, people.status_code, missing.status_code) == (200, 302, 404)
    output = server.stdout + server.stderr
    assert SEARCH_TERM not in output
    entries = [json.loads(line) for line in server.stderr.splitlines() if line.strip()]
    requests_logged = [e for e in entries if e["logger"] == "request_log"]
    assert [(e["path"], e["status"], e["request_id"]) for e in requests_logged] == [
        ("/", 200, home.headers["X-Request-Id"]),
        ("/people", 302, people.headers["X-Request-Id"]),
        ("/nowhere", 404, missing.headers["X-Request-Id"]),
    ]
    # werkzeug's own request lines are gone; its other lines stay, without the query.
    werkzeug_lines = [e["message"] for e in entries if e["logger"] == "werkzeug"]
    assert not any('"GET /' in line for line in werkzeug_lines)
    assert any("Bad request syntax ('GET /?... extra" in line for line in werkzeug_lines)
