"""The request log: what tests can ask about the traffic, and what it never keeps."""

from __future__ import annotations

import json

import pytest
from emulator_helpers import TIMEOUT
from entra_emulator.request_log import LoggedRequest, RequestLog
from feature_helpers import GRADY, PATTI, control, graph, signed_in


@pytest.fixture(autouse=True)
def _reset(entra_emulator_session):
    entra_emulator_session.state.reset_features()
    yield
    entra_emulator_session.state.reset_features()


def logged(ca_trusting_session, entra_emulator_session, **filters) -> list[dict]:
    response = ca_trusting_session.get(
        entra_emulator_session.control_url + "/requests", params=filters, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_graph_calls_are_logged_without_their_query_string(
    entra_emulator_session, ca_trusting_session
):
    token = signed_in(entra_emulator_session)["access_token"]
    graph(
        ca_trusting_session,
        entra_emulator_session,
        token,
        "/users",
        params={"$top": "5", "$select": "displayName"},
        headers={"client-request-id": "test-42"},
    )
    (entry,) = logged(ca_trusting_session, entra_emulator_session, path="/v1.0/users")
    assert entry["method"] == "GET" and entry["status"] == 200
    assert entry["client_id"] == entra_emulator_session.client_id
    assert (entry["user_upn"], entry["client_request_id"]) == (PATTI, "test-42")
    assert entry["user_oid"] and entry["timestamp"].endswith("+00:00")
    assert entry["batch"] is False and entry["fault"] is None


def test_token_and_sign_in_requests_name_the_client_and_user(
    entra_emulator_session, ca_trusting_session
):
    signed_in(entra_emulator_session, GRADY)
    (token_call,) = logged(ca_trusting_session, entra_emulator_session, path="*/oauth2/v2.0/token")
    assert (token_call["client_id"], token_call["user_upn"]) == (
        entra_emulator_session.client_id,
        GRADY,
    )
    (authorize,) = logged(ca_trusting_session, entra_emulator_session, path="*/authorize")
    assert authorize["client_id"] == entra_emulator_session.client_id and authorize["status"] == 200


def test_the_log_never_holds_tokens_codes_secrets_or_query_values(
    entra_emulator_session, ca_trusting_session
):
    result = signed_in(entra_emulator_session)
    graph(
        ca_trusting_session,
        entra_emulator_session,
        result["access_token"],
        "/me",
        params={"$select": "secretive"},
    )
    text = json.dumps(logged(ca_trusting_session, entra_emulator_session))
    secrets = [
        result["access_token"],
        result["id_token"],
        result["refresh_token"],
        entra_emulator_session.client_secret,
        "secretive",
        "code_challenge",
        "nonce",
    ]
    assert not [s for s in secrets if s in text]
    assert "?" not in text


def test_download_urls_are_logged_as_redacted(entra_emulator_session, ca_trusting_session):
    token = signed_in(entra_emulator_session)["access_token"]
    items = graph(
        ca_trusting_session, entra_emulator_session, token, "/me/drive/root:/Documents:/children"
    ).json()["value"]
    url = next(i for i in items if "file" in i)["@microsoft.graph.downloadUrl"]
    assert ca_trusting_session.get(url, timeout=TIMEOUT).status_code == 200
    (download,) = logged(ca_trusting_session, entra_emulator_session, path="/_download/*")
    assert download["path"] == "/_download/..."


def test_filters_combine_and_faults_are_named(entra_emulator_session, ca_trusting_session):
    token = signed_in(entra_emulator_session)["access_token"]
    rules = [{"name": "busy-me", "path": "/v1.0/me", "status": 429, "nth": 1}]
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", rules=rules)
    for _ in range(2):
        graph(ca_trusting_session, entra_emulator_session, token, "/me")
    graph(ca_trusting_session, entra_emulator_session, token, "/users")
    assert [
        e["status"] for e in logged(ca_trusting_session, entra_emulator_session, path="/v1.0/me")
    ] == [429, 200]
    (throttled,) = logged(ca_trusting_session, entra_emulator_session, status="429")
    assert throttled["fault"] == "busy-me"
    assert (
        len(logged(ca_trusting_session, entra_emulator_session, method="get", user=PATTI.upper()))
        == 3
    )
    assert logged(ca_trusting_session, entra_emulator_session, user=GRADY) == []
    bad = ca_trusting_session.get(
        entra_emulator_session.control_url + "/requests", params={"status": "²"}, timeout=TIMEOUT
    )
    assert bad.status_code == 400


def test_control_calls_are_not_logged_and_reset_clears_the_log(
    entra_emulator_session, ca_trusting_session
):
    signed_in(entra_emulator_session)
    assert logged(ca_trusting_session, entra_emulator_session)
    control(ca_trusting_session, entra_emulator_session, "GET", "/counters")
    assert not logged(ca_trusting_session, entra_emulator_session, path="/_emulator/counters")
    assert (
        control(ca_trusting_session, entra_emulator_session, "DELETE", "/requests").status_code
        == 204
    )
    assert logged(ca_trusting_session, entra_emulator_session) == []
    signed_in(entra_emulator_session)
    entra_emulator_session.state.reset_features()
    assert entra_emulator_session.state.request_log.query() == []


def _entry(n: int) -> LoggedRequest:
    return LoggedRequest(float(n), "GET", f"/v1.0/{n}", 200, None, None, None, None, None, False)


def test_the_log_keeps_only_the_newest_entries():
    log = RequestLog(capacity=3)
    for n in range(5):
        log.add(_entry(n))
    assert [e.path for e in log.query()] == ["/v1.0/2", "/v1.0/3", "/v1.0/4"]
    assert [e.path for e in log.query(since=4)] == ["/v1.0/4"]
