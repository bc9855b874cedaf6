"""The request log: what tests can ask about the traffic, and what it never keeps."""

from __future__ import annotations

import json

import pytest
from emulator_helpers import TIMEOUT
from entra_emulator.request_log import LoggedRequest, RequestLog
from feature_helpers import GRADY, PATTI, control, graph, signed_in


@pytest.fixture(autouse=True)
def _reset(emulator):
    emulator.state.reset_features()
    yield
    emulator.state.reset_features()


def logged(https, emulator, **filters) -> list[dict]:
    response = https.get(emulator.control_url + "/requests", params=filters, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_graph_calls_are_logged_without_their_query_string(emulator, https):
    token = signed_in(emulator)["access_token"]
    graph(
        https,
        emulator,
        token,
        "/users",
        params={"$top": "5", "$select": "displayName"},
        headers={"client-request-id": "test-42"},
    )
    (entry,) = logged(https, emulator, path="/v1.0/users")
    assert entry["method"] == "GET" and entry["status"] == 200
    assert entry["client_id"] == emulator.client_id
    assert (entry["user_upn"], entry["client_request_id"]) == (PATTI, "test-42")
    assert entry["user_oid"] and entry["timestamp"].endswith("+00:00")
    assert entry["batch"] is False and entry["fault"] is None


def test_token_and_sign_in_requests_name_the_client_and_user(emulator, https):
    signed_in(emulator, GRADY)
    (token_call,) = logged(https, emulator, path="*/oauth2/v2.0/token")
    assert (token_call["client_id"], token_call["user_upn"]) == (emulator.client_id, GRADY)
    (authorize,) = logged(https, emulator, path="*/authorize")
    assert authorize["client_id"] == emulator.client_id and authorize["status"] == 200


def test_the_log_never_holds_tokens_codes_secrets_or_query_values(emulator, https):
    result = signed_in(emulator)
    graph(https, emulator, result["access_token"], "/me", params={"$select": "secretive"})
    text = json.dumps(logged(https, emulator))
    secrets = [
        result["access_token"],
        result["id_token"],
        result["refresh_token"],
        emulator.client_secret,
        "secretive",
        "code_challenge",
        "nonce",
    ]
    assert not [s for s in secrets if s in text]
    assert "?" not in text


def test_download_urls_are_logged_as_redacted(emulator, https):
    token = signed_in(emulator)["access_token"]
    items = graph(https, emulator, token, "/me/drive/root:/Documents:/children").json()["value"]
    url = next(i for i in items if "file" in i)["@microsoft.graph.downloadUrl"]
    assert https.get(url, timeout=TIMEOUT).status_code == 200
    (download,) = logged(https, emulator, path="/_download/*")
    assert download["path"] == "/_download/..."


def test_filters_combine_and_faults_are_named(emulator, https):
    token = signed_in(emulator)["access_token"]
    rules = [{"name": "busy-me", "path": "/v1.0/me", "status": 429, "nth": 1}]
    control(https, emulator, "POST", "/faults", rules=rules)
    for _ in range(2):
        graph(https, emulator, token, "/me")
    graph(https, emulator, token, "/users")
    assert [e["status"] for e in logged(https, emulator, path="/v1.0/me")] == [429, 200]
    (throttled,) = logged(https, emulator, status="429")
    assert throttled["fault"] == "busy-me"
    assert len(logged(https, emulator, method="get", user=PATTI.upper())) == 3
    assert logged(https, emulator, user=GRADY) == []
    bad = https.get(emulator.control_url + "/requests", params={"status": "²"}, timeout=TIMEOUT)
    assert bad.status_code == 400


def test_control_calls_are_not_logged_and_reset_clears_the_log(emulator, https):
    signed_in(emulator)
    assert logged(https, emulator)
    control(https, emulator, "GET", "/counters")
    assert not logged(https, emulator, path="/_emulator/counters")
    assert control(https, emulator, "DELETE", "/requests").status_code == 204
    assert logged(https, emulator) == []
    signed_in(emulator)
    emulator.state.reset_features()
    assert emulator.state.request_log.query() == []


def _entry(n: int) -> LoggedRequest:
    return LoggedRequest(float(n), "GET", f"/v1.0/{n}", 200, None, None, None, None, None, False)


def test_the_log_keeps_only_the_newest_entries():
    log = RequestLog(capacity=3)
    for n in range(5):
        log.add(_entry(n))
    assert [e.path for e in log.query()] == ["/v1.0/2", "/v1.0/3", "/v1.0/4"]
    assert [e.path for e in log.query(since=4)] == ["/v1.0/4"]
