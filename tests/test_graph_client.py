"""GraphClient against Graph as seen on the wire.

`responses` mocks requests' adapter, which also bypasses urllib3's Retry and its sleeps, so
retries, timeouts, redirects, cookies and TLS are tested against a small scripted HTTP server
on 127.0.0.1 instead.
"""

import base64
import json
import logging
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from entra_emulator.certs import make_certificates

from graph.client import (
    GraphAccessDenied,
    GraphBusy,
    GraphClaimsChallenge,
    GraphClient,
    GraphError,
    GraphNotFound,
    GraphUnavailable,
    Page,
    page_deadline,
)

GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN = "eyJ0eXAiOiJKV1QiLCJ-secret-access-token"
USER_AGENT = "ms-identity-python-webapp-tests/1.0"


@dataclass
class Reply:
    status: int = 200
    body: dict | bytes = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class ScriptedGraph:
    """An HTTP server that answers with scripted replies in order and records each request."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.graph = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        port = self._server.server_address[1]
        self.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self.url = f"{self.origin}/v1.0"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def script(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            self.seen.append(
                Seen(handler.command, handler.path, dict(handler.headers), body, time.monotonic())
            )
            reply = self._replies.pop(0) if self._replies else Reply(500, b"unscripted")
        time.sleep(reply.delay)
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            handler.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up waiting (timeout tests)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's pool is used as in production
    timeout = 5  # idle keep-alive connections end by themselves

    def do_GET(self) -> None:
        self.server.graph.answer(self)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graph_error(code: str, message: str, request_id: str = "inner-request-id") -> dict:
    return {"error": {"code": code, "message": message, "innerError": {"request-id": request_id}}}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # The client honours proxy variables; a developer's proxy must not see 127.0.0.1 traffic.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def graph_server():
    server = ScriptedGraph()
    yield server
    server.stop()


@pytest.fixture
def graph_client(graph_server):
    graph_client = GraphClient(graph_server.url, user_agent=USER_AGENT)
    yield graph_client
    graph_client.close()


@pytest.fixture
def graph_mock():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def mocked_client():
    graph_client = GraphClient(GRAPH, user_agent=USER_AGENT)
    yield graph_client
    graph_client.close()


# Headers, paths and plain data


def test_sends_token_user_agent_accept_and_a_fresh_client_request_id(graph_mock, mocked_client):
    graph_mock.get(f"{GRAPH}/me", json={"displayName": "Ada Lovelace"})
    graph_mock.get(f"{GRAPH}/me", json={"displayName": "Ada Lovelace"})

    assert mocked_client.get(TOKEN, "/me") == {"displayName": "Ada Lovelace"}
    mocked_client.get(TOKEN, "/me")

    first, second = (call.request.headers for call in graph_mock.calls)
    assert first["Authorization"] == f"Bearer {TOKEN}"
    assert first["User-Agent"] == USER_AGENT
    assert first["Accept"] == "application/json"
    assert uuid.UUID(first["client-request-id"]).version == 4
    assert first["client-request-id"] != second["client-request-id"]


def test_caller_headers_cannot_replace_the_token(graph_mock, mocked_client):
    graph_mock.get(f"{GRAPH}/users", json={"value": []})

    mocked_client.get(
        TOKEN, "/users", headers={"ConsistencyLevel": "eventual", "Authorization": "Bearer other"}
    )

    sent = graph_mock.calls[0].request.headers
    assert sent["ConsistencyLevel"] == "eventual"
    assert sent["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("endpoint", [GRAPH, f"{GRAPH}/"])
@pytest.mark.parametrize("path", ["me", "/me"])
def test_joins_paths_whatever_the_slashes(graph_mock, endpoint, path):
    graph_mock.get(f"{GRAPH}/me", json={"id": "1"})
    graph_client = GraphClient(endpoint, user_agent=USER_AGENT)

    assert graph_client.get(TOKEN, path) == {"id": "1"}
    assert graph_mock.calls[0].request.url == f"{GRAPH}/me"
    graph_client.close()


def test_photo_comes_back_as_bytes_content_type_and_etag(graph_mock, mocked_client):
    graph_mock.get(
        f"{GRAPH}/me/photo/$value",
        body=b"\xff\xd8jpeg",
        content_type="image/jpeg",
        headers={"ETag": '"BA09D118"'},
    )

    found = mocked_client.get_bytes(TOKEN, "/me/photo/$value")

    assert (found.data, found.content_type, found.etag) == (
        b"\xff\xd8jpeg",
        "image/jpeg",
        '"BA09D118"',
    )
    assert not found.not_modified
    assert graph_mock.calls[0].request.headers["Accept"] == "*/*"
    assert "If-None-Match" not in graph_mock.calls[0].request.headers


def test_photo_revalidated_by_its_etag_may_be_not_modified(graph_mock, mocked_client):
    graph_mock.get(f"{GRAPH}/me/photo/$value", status=304, headers={"ETag": '"BA09D118"'})

    found = mocked_client.get_bytes(TOKEN, "/me/photo/$value", etag='"BA09D118"')

    assert found.not_modified and found.etag == '"BA09D118"'
    assert graph_mock.calls[0].request.headers["If-None-Match"] == '"BA09D118"'


def test_a_304_nobody_asked_for_is_an_error(graph_mock, mocked_client):
    graph_mock.get(f"{GRAPH}/me/photo/$value", status=304)

    with pytest.raises(GraphError) as raised:
        mocked_client.get_bytes(TOKEN, "/me/photo/$value")
    assert raised.value.code == "unexpected_redirect"


def test_missing_photo_is_none(graph_mock, mocked_client):
    graph_mock.get(
        f"{GRAPH}/me/photo/$value",
        status=404,
        json=_graph_error("ImageNotFound", "Exception of type ImageNotFoundException."),
    )

    assert mocked_client.get_bytes(TOKEN, "/me/photo/$value") is None


def test_photo_errors_other_than_404_are_raised(graph_mock, mocked_client):
    graph_mock.get(f"{GRAPH}/me/photo/$value", status=403, json=_graph_error("Forbidden", "No."))

    with pytest.raises(GraphError) as raised:
        mocked_client.get_bytes(TOKEN, "/me/photo/$value")
    assert raised.value.status == 403


# Errors


@pytest.mark.parametrize(
    ("status", "code", "message", "header_request_id", "request_id", "kind"),
    [
        (
            404,
            "Request_ResourceNotFound",
            "Resource 'x' does not exist.",
            "hdr-404",
            "hdr-404",
            GraphNotFound,
        ),
        (
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges.",
            "hdr-403",
            "hdr-403",
            GraphAccessDenied,
        ),
        (400, "BadRequest", "Invalid filter clause", None, "inner-request-id", GraphError),
    ],
)
def test_error_answers_become_graph_errors(
    graph_mock, mocked_client, status, code, message, header_request_id, request_id, kind
):
    headers = {"request-id": header_request_id} if header_request_id else {}
    graph_mock.get(
        f"{GRAPH}/users/x", status=status, json=_graph_error(code, message), headers=headers
    )

    with pytest.raises(GraphError) as raised:
        mocked_client.get(TOKEN, "/users/x")

    error = raised.value
    assert type(error) is kind
    assert (error.status, error.code, error.message) == (status, code, message)
    assert error.request_id == request_id
    sent = graph_mock.calls[0].request.headers["client-request-id"]
    assert error.client_request_id == sent
    assert len(graph_mock.calls) == 1


def test_error_body_that_is_not_json_falls_back_to_the_reason(graph_server, graph_client):
    graph_server.script(
        Reply(502, b"<html>upstream broke</html>", {"Content-Type": "text/html", "request-id": "r"})
    )

    with pytest.raises(GraphError) as raised:
        graph_client.get(TOKEN, "/me")

    assert (raised.value.status, raised.value.code) == (502, "http_error")
    assert raised.value.message == "Bad Gateway"
    assert raised.value.request_id == "r"


def test_claims_challenge_is_parsed_and_decoded(graph_mock, mocked_client):
    claims = '{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}'
    encoded = base64.b64encode(claims.encode()).decode()
    assert encoded.endswith("=")  # so stripping it below really tests missing padding
    challenge = (
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
        'authorize", client_id="00000003-0000-0000-c000-000000000000", '
        f'error="insufficient_claims", claims="{encoded.rstrip("=")}"'
    )
    graph_mock.get(
        f"{GRAPH}/me",
        status=401,
        json=_graph_error("InvalidAuthenticationToken", "Continuous access evaluation."),
        headers={"WWW-Authenticate": challenge},
    )

    with pytest.raises(GraphClaimsChallenge) as raised:
        mocked_client.get(TOKEN, "/me")

    assert raised.value.claims == claims
    assert (raised.value.status, raised.value.code) == (401, "InvalidAuthenticationToken")


def test_401_without_claims_is_a_plain_graph_error(graph_mock, mocked_client):
    graph_mock.get(
        f"{GRAPH}/me",
        status=401,
        json=_graph_error("InvalidAuthenticationToken", "Access token has expired."),
        headers={"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )

    with pytest.raises(GraphError) as raised:
        mocked_client.get(TOKEN, "/me")
    assert type(raised.value) is GraphError
    assert raised.value.status == 401


def test_redirect_is_not_followed(graph_server, graph_client):
    graph_server.script(Reply(302, b"", {"Location": f"{graph_server.url}/elsewhere"}))

    with pytest.raises(GraphError) as raised:
        graph_client.get(TOKEN, "/me")

    assert (raised.value.status, raised.value.code) == (302, "unexpected_redirect")
    assert [seen.path for seen in graph_server.seen] == ["/v1.0/me"]


def test_connection_refused_is_graph_unavailable():
    graph_client = GraphClient(f"http://127.0.0.1:{_closed_port()}/v1.0", user_agent=USER_AGENT)

    with pytest.raises(GraphUnavailable) as raised:
        graph_client.get(TOKEN, "/me")

    assert (raised.value.status, raised.value.code) == (504, "network_error")
    assert "could not be reached" in raised.value.message
    graph_client.close()


@pytest.mark.parametrize("call", ["get", "post_query"])
def test_read_timeout_is_graph_unavailable_and_not_retried(graph_server, call):
    graph_server.script(Reply(delay=0.5), Reply())
    graph_client = GraphClient(graph_server.url, user_agent=USER_AGENT, read_timeout=0.2)

    with pytest.raises(GraphUnavailable, match="timed out"):
        if call == "get":
            graph_client.get(TOKEN, "/me")
        else:
            graph_client.post_query(TOKEN, "/search/query", {"requests": []})

    assert len(graph_server.seen) == 1
    graph_client.close()


def test_calls_of_one_page_share_its_deadline(graph_server, graph_client):
    graph_server.script(Reply(delay=0.6, body={"id": "1"}), Reply(delay=0.6, body={"id": "2"}))

    with page_deadline(0.9):
        assert graph_client.get(TOKEN, "/me") == {"id": "1"}
        # 0.3 s left: the second call gets only that, not its own full read timeout.
        with pytest.raises(GraphUnavailable, match="timed out"):
            graph_client.get(TOKEN, "/me/manager")


def test_a_call_after_the_deadline_is_not_sent(graph_server, graph_client):
    with page_deadline(0.0001):
        time.sleep(0.001)
        with pytest.raises(GraphUnavailable) as raised:
            graph_client.get(TOKEN, "/me")
    assert raised.value.code == "page_deadline"
    assert graph_server.seen == []


# Retries


def test_429_waits_for_retry_after_then_returns_the_data(graph_server, graph_client):
    graph_server.script(
        Reply(429, _graph_error("TooManyRequests", "Slow down"), {"Retry-After": "1"}),
        Reply(body={"displayName": "Ada"}),
    )

    started = time.monotonic()
    assert graph_client.get(TOKEN, "/me") == {"displayName": "Ada"}

    assert 0.9 <= time.monotonic() - started < 3
    first, second = graph_server.seen
    assert second.at - first.at >= 0.9
    assert first.headers["client-request-id"] == second.headers["client-request-id"]


def test_503_three_times_is_graph_busy_with_the_last_retry_after(graph_server, graph_client):
    busy = _graph_error("serviceNotAvailable", "Try later")
    graph_server.script(
        Reply(503, busy, {"Retry-After": "0"}),
        Reply(503, busy, {"Retry-After": "0"}),
        Reply(503, busy, {"Retry-After": "3", "request-id": "last"}),
    )

    with pytest.raises(GraphBusy) as raised:
        graph_client.get(TOKEN, "/me")

    assert len(graph_server.seen) == 3
    assert raised.value.retry_after == 3
    assert (raised.value.status, raised.value.code) == (503, "serviceNotAvailable")
    assert raised.value.request_id == "last"


def test_504_without_retry_after_is_graph_busy_with_the_default(graph_server, graph_client):
    graph_server.script(*[Reply(504, b"gateway timeout", {"Content-Type": "text/plain"})] * 3)

    with pytest.raises(GraphBusy) as raised:
        graph_client.get(TOKEN, "/me")

    assert len(graph_server.seen) == 3
    assert raised.value.retry_after == 5


def test_long_retry_after_fails_at_once(graph_server, graph_client):
    graph_server.script(
        Reply(429, _graph_error("TooManyRequests", "Slow down"), {"Retry-After": "120"}),
        Reply(body={"displayName": "Ada"}),
    )

    started = time.monotonic()
    with pytest.raises(GraphBusy) as raised:
        graph_client.get(TOKEN, "/me")

    assert time.monotonic() - started < 1
    assert len(graph_server.seen) == 1
    assert (raised.value.status, raised.value.retry_after) == (429, 120)


def test_search_query_post_is_retried(graph_server, graph_client):
    query = {"requests": [{"entityTypes": ["driveItem"], "query": {"queryString": "budget"}}]}
    graph_server.script(
        Reply(503, _graph_error("serviceNotAvailable", "Try later"), {"Retry-After": "0"}),
        Reply(body={"value": [{"hitsContainers": []}]}),
    )

    assert graph_client.post_query(TOKEN, "/search/query", query) == {
        "value": [{"hitsContainers": []}]
    }
    assert [(seen.method, seen.path) for seen in graph_server.seen] == [
        ("POST", "/v1.0/search/query")
    ] * 2
    assert all(json.loads(seen.body) == query for seen in graph_server.seen)


# Paging


def test_page_asks_for_max_page_items_unless_the_caller_chose(graph_server):
    graph_server.script(*[Reply(body={"value": []})] * 3)
    graph_client = GraphClient(graph_server.url, user_agent=USER_AGENT, max_page_items=25)

    graph_client.page(TOKEN, "/users")
    graph_client.page(TOKEN, "/users", params={"$top": 5})
    graph_client.page(TOKEN, "/me/joinedTeams", params={"$top": None})

    assert [seen.path for seen in graph_server.seen] == [
        "/v1.0/users?%24top=25",
        "/v1.0/users?%24top=5",
        "/v1.0/me/joinedTeams",
    ]
    graph_client.close()


def test_next_link_comes_back_as_a_cursor_that_follows_it_exactly(graph_server, graph_client):
    next_link = f"{graph_server.url}/users?$top=2&$skiptoken=RFNwdAIAAQAAAD"
    graph_server.script(
        Reply(body={"value": [{"id": "1"}], "@odata.nextLink": next_link}),
        Reply(body={"value": [{"id": "3"}]}),
    )

    first = graph_client.page(TOKEN, "/users", params={"$top": 2})
    assert first.next_cursor and "skiptoken" not in first.next_cursor
    second = graph_client.next_page(TOKEN, "/users", first.next_cursor)

    assert second == Page(items=[{"id": "3"}], next_cursor=None)
    assert [seen.path for seen in graph_server.seen] == [
        "/v1.0/users?%24top=2",
        "/v1.0/users?$top=2&$skiptoken=RFNwdAIAAQAAAD",
    ]
    assert graph_server.seen[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_cursor_works_only_for_the_collection_it_came_from(graph_server, graph_client):
    next_link = f"{graph_server.url}/users?$skiptoken=p2"
    graph_server.script(Reply(body={"value": [], "@odata.nextLink": next_link}))
    cursor = graph_client.page(TOKEN, "/users").next_cursor

    with pytest.raises(ValueError, match="not a cursor"):
        graph_client.next_page(TOKEN, "/me/messages", cursor)
    other_client = GraphClient(graph_server.url, user_agent=USER_AGENT)
    with pytest.raises(ValueError, match="not a cursor"):
        other_client.next_page(TOKEN, "/users", cursor)
    other_client.close()
    assert len(graph_server.seen) == 1


@pytest.mark.parametrize(
    "cursor",
    ["", "https://evil.example/v1.0/users", "/me/messages", "eyJmb28iOiJiYXIifQ.bad-signature"],
)
def test_forged_cursor_raises_before_sending(graph_server, graph_client, cursor):
    with pytest.raises(ValueError, match="not a cursor"):
        graph_client.next_page(TOKEN, "/users", cursor)
    assert graph_server.seen == []


@pytest.mark.parametrize(
    "link",
    [
        "http://localhost:{port}/v1.0/users?$skiptoken=x",
        "https://127.0.0.1:{port}/v1.0/users",
        "http://127.0.0.1:{other_port}/v1.0/users",
        "http://127.0.0.1:{port}/beta/users",
        "http://127.0.0.1:{port}/v1.0evil/users",
        "http://127.0.0.1:{port}/v1.0/../beta/users",
        "http://127.0.0.1:{port}/v1.0/%2E%2E/beta/users",
        "http://attacker@127.0.0.1:{port}/v1.0/users",
        "http://127.0.0.1:{port}\\@evil.example/v1.0/users",
        "//evil.example/v1.0/users",
        "https://graph.microsoft.com/v1.0/users",
    ],
)
def test_full_url_outside_the_endpoint_raises_before_sending(graph_server, graph_client, link):
    port = graph_server.url.rsplit(":", 1)[1].split("/")[0]
    tampered = link.format(port=port, other_port=_closed_port())

    with pytest.raises(ValueError, match="outside the endpoint|dot segments"):
        graph_client.get(TOKEN, tampered)

    assert graph_server.seen == []


def test_next_link_from_graph_outside_the_endpoint_is_an_error(graph_server, graph_client):
    graph_server.script(
        Reply(body={"value": [], "@odata.nextLink": "https://evil.example/v1.0/users?$skip=1"})
    )

    with pytest.raises(GraphError) as raised:
        graph_client.page(TOKEN, "/users")
    assert (raised.value.status, raised.value.code) == (502, "invalid_response")


# What stays inside the client


def test_log_has_one_line_per_call_without_token_or_query_values(
    graph_server, graph_client, caplog
):
    caplog.set_level(logging.DEBUG)
    graph_server.script(
        Reply(body={"value": []}, headers={"request-id": "graph-request-1"}),
        Reply(404, _graph_error("Request_ResourceNotFound", "No such user")),
    )

    graph_client.page(TOKEN, "/users", params={"$filter": "startswith(displayName,'Alice')"})
    with pytest.raises(GraphError):
        graph_client.get(TOKEN, "/users/missing")

    lines = [record for record in caplog.records if record.name == "graph.client"]
    assert [record.levelno for record in lines] == [logging.INFO] * 2
    first = lines[0].getMessage()
    assert "GET /v1.0/users params=$filter,$top -> 200" in first
    assert "request-id graph-request-1" in first
    sent_id = graph_server.seen[0].headers["client-request-id"]
    assert f"client-request-id {sent_id}" in first
    assert "Alice" not in first
    assert "-> 404" in lines[1].getMessage()
    assert TOKEN not in caplog.text
    assert "Bearer" not in caplog.text


def test_cookies_set_by_graph_are_not_sent_back(graph_server, graph_client):
    graph_server.script(
        Reply(body={"id": "1"}, headers={"Set-Cookie": "affinity=user-a; Path=/"}),
        Reply(body={"id": "2"}),
    )

    graph_client.get(TOKEN, "/me")
    graph_client.get(TOKEN, "/me")

    assert "Cookie" not in graph_server.seen[1].headers


@pytest.fixture
def tls_graph(tmp_path):
    """A TLS server whose certificate is signed by a throwaway CA at tmp_path/ca.pem."""
    _, cert_path, key_path = make_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = ScriptedGraph(tls=context)
    yield server
    server.stop()


def test_requests_ca_bundle_is_read_once_when_the_client_is_built(tls_graph, tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    tls_graph.script(Reply(body={"displayName": "Ada"}))
    untrusting = GraphClient(tls_graph.url, user_agent=USER_AGENT)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    trusting = GraphClient(tls_graph.url, user_agent=USER_AGENT)
    # Read at start, not on each call (requests would scan the environment every time).
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")

    with pytest.raises(GraphUnavailable):
        untrusting.get(TOKEN, "/me")  # our test CA is not trusted by default
    assert trusting.get(TOKEN, "/me") == {"displayName": "Ada"}
    untrusting.close()
    trusting.close()


def test_graph_is_reached_through_the_proxy_named_when_the_client_is_built(
    graph_server, monkeypatch
):
    # The scripted server stands in for the proxy: it sees the absolute URL a proxy gets.
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("no_proxy", raising=False)  # lowercase wins in urllib
    monkeypatch.setenv("HTTP_PROXY", graph_server.origin)
    graph_server.script(Reply(body={"displayName": "Ada"}))
    graph_client = GraphClient("http://graph.example.invalid/v1.0", user_agent=USER_AGENT)
    monkeypatch.delenv("HTTP_PROXY")

    assert graph_client.get(TOKEN, "/me") == {"displayName": "Ada"}
    assert graph_server.seen[0].path == "http://graph.example.invalid/v1.0/me"
    graph_client.close()


def test_an_endpoint_in_no_proxy_is_reached_directly(graph_server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")  # nothing listens
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)  # lowercase wins in urllib
    graph_server.script(Reply(body={"displayName": "Ada"}))
    graph_client = GraphClient(graph_server.url, user_agent=USER_AGENT)

    assert graph_client.get(TOKEN, "/me") == {"displayName": "Ada"}
    assert graph_server.seen[0].path == "/v1.0/me"
    graph_client.close()
