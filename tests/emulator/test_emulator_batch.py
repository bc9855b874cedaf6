"""Graph JSON batching: sub-requests through the real routes, dependsOn, 424, 400s, throttling."""

from __future__ import annotations

import base64

import pytest
from feature_helpers import GRADY, control, graph, signed_in


@pytest.fixture(scope="module")
def tokens(entra_emulator_session):
    return {
        "broad": signed_in(entra_emulator_session)["access_token"],
        "narrow": signed_in(entra_emulator_session, GRADY, ["User.Read"])["access_token"],
    }


@pytest.fixture(autouse=True)
def _reset(entra_emulator_session):
    yield
    entra_emulator_session.state.reset_features()


def post_batch(ca_trusting_session, entra_emulator_session, token, requests_):
    return graph(
        ca_trusting_session,
        entra_emulator_session,
        token,
        "/$batch",
        method="POST",
        json={"requests": requests_},
    )


def by_id(response) -> dict:
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["responses"]}


def get_all(ca_trusting_session, entra_emulator_session, token, **urls) -> dict:
    """A batch of GETs, one per id=url, answered by id."""
    requests_ = [{"id": i, "method": "GET", "url": url} for i, url in urls.items()]
    return by_id(post_batch(ca_trusting_session, entra_emulator_session, token, requests_))


def test_sub_requests_answer_as_graph_does(entra_emulator_session, ca_trusting_session, tokens):
    answers = get_all(
        ca_trusting_session,
        entra_emulator_session,
        tokens["broad"],
        me="/me",
        users="users?$top=2&$select=displayName",
        photo="/me/photo/$value",
        nonsense="/nonsense",
    )
    assert answers["me"]["status"] == 200
    assert answers["me"]["body"]["userPrincipalName"] == "patti@contoso.example"
    assert answers["me"]["headers"]["Content-Type"].startswith("application/json")
    assert [set(u) for u in answers["users"]["body"]["value"]] == [{"displayName"}] * 2
    assert answers["photo"]["headers"]["Content-Type"] == "image/png"
    assert base64.b64decode(answers["photo"]["body"]).startswith(b"\x89PNG")
    assert answers["nonsense"]["status"] == 400
    assert answers["nonsense"]["body"]["error"]["code"] == "BadRequest"


def test_each_sub_request_has_its_own_scope_check(
    entra_emulator_session, ca_trusting_session, tokens
):
    answers = get_all(
        ca_trusting_session, entra_emulator_session, tokens["narrow"], me="/me", all="/users"
    )
    assert answers["me"]["status"] == 200
    assert answers["all"]["status"] == 403
    assert answers["all"]["body"]["error"]["code"] == "Authorization_RequestDenied"


def test_sub_request_headers_reach_the_route(entra_emulator_session, ca_trusting_session, tokens):
    search = {"id": "s", "method": "GET", "url": '/users?$search="displayName:zoe"'}
    plain = by_id(
        post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], [search])
    )["s"]
    assert plain["status"] == 400  # $search needs ConsistencyLevel, in a batch as well
    search["headers"] = {"ConsistencyLevel": "eventual"}
    found = by_id(
        post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], [search])
    )["s"]
    assert [u["displayName"] for u in found["body"]["value"]] == ["Zoë Ðorđević"]


def test_depends_on_orders_requests_and_a_failure_is_424_downstream(
    entra_emulator_session, ca_trusting_session, tokens
):
    response = post_batch(
        ca_trusting_session,
        entra_emulator_session,
        tokens["narrow"],
        [
            {"id": "c", "method": "GET", "url": "/me", "dependsOn": ["B"]},
            {"id": "b", "method": "GET", "url": "/users", "dependsOn": ["a"]},
            {"id": "a", "method": "GET", "url": "/me"},
            {"id": "d", "method": "GET", "url": "/me"},
        ],
    )
    order = [r["id"] for r in response.json()["responses"]]
    assert order.index("a") < order.index("b") < order.index("c")
    answers = by_id(response)
    assert answers["a"]["status"] == answers["d"]["status"] == 200
    assert answers["b"]["status"] == 403  # ran, and failed
    assert answers["c"]["status"] == 424  # never ran: its dependency failed
    assert answers["c"]["body"]["error"]["code"] == "FailedDependency"


def test_throttling_applies_per_sub_request(entra_emulator_session, ca_trusting_session, tokens):
    rules = [{"path": "/v1.0/users", "status": 429, "retry_after": 7}]
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", rules=rules)
    answers = get_all(
        ca_trusting_session, entra_emulator_session, tokens["broad"], me="/me", users="/users"
    )
    assert answers["me"]["status"] == 200
    assert answers["users"]["status"] == 429
    assert answers["users"]["headers"]["Retry-After"] == "7"
    assert answers["users"]["body"]["error"]["code"] == "TooManyRequests"


def _me(n: int) -> dict:
    return {"id": str(n), "method": "GET", "url": "/me"}


@pytest.mark.parametrize(
    ("requests_", "message"),
    [
        ([_me(1), {**_me(1), "id": "1"}], "duplicate id"),
        (
            [
                {"id": "A", "method": "GET", "url": "/me"},
                {"id": "a", "method": "GET", "url": "/me"},
            ],
            "duplicate id",
        ),
        ([_me(n) for n in range(21)], "20"),
        ([{"method": "GET", "url": "/me"}], "missing 'id'"),
        ([{"id": "1", "url": "/me"}], "missing 'method'"),
        ([{"id": "1", "method": "GET"}], "missing 'url'"),
        ([{**_me(1), "dependsOn": ["9"]}], "unknown request id '9'"),
        ([{**_me(1), "dependsOn": ["2"]}, {**_me(2), "dependsOn": ["1"]}], "cycle"),
        ([{**_me(1), "method": "POST", "body": {}}], "Content-Type"),
        ([{**_me(1), "url": "https://graph.microsoft.com/v1.0/me"}], "relative"),
        ([{**_me(1), "url": "/../_emulator/faults"}], "'..'"),
        ([{**_me(1), "url": "/%2e%2e/_emulator/faults"}], "'..'"),
        ([{**_me(1), "url": "/$batch"}], "another batch"),
        ([{**_me(1), "method": "TRACE"}], "unsupported method"),
        ([], "Invalid batch payload"),
    ],
)
def test_malformed_batches_are_400_in_graphs_shape(
    entra_emulator_session, ca_trusting_session, tokens, requests_, message
):
    response = post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], requests_)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert message in error["message"]
    assert "request-id" in error["innerError"]


def test_batch_without_a_token_is_401(entra_emulator_session, ca_trusting_session):
    response = ca_trusting_session.post(
        entra_emulator_session.graph_endpoint + "/$batch", json={"requests": [_me(1)]}, timeout=10
    )
    assert response.status_code == 401


def test_sub_requests_are_counted_and_logged_as_batch(
    entra_emulator_session, ca_trusting_session, tokens
):
    post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], [_me(1), _me(2)])
    logged = entra_emulator_session.state.request_log.query(path="/v1.0/*")
    assert [(e.path, e.batch) for e in logged] == [
        ("/v1.0/me", True),
        ("/v1.0/me", True),
        ("/v1.0/$batch", False),
    ]


def test_a_batch_counts_as_one_graph_request_and_its_requests_apart(
    entra_emulator_session, ca_trusting_session, tokens
):
    entra_emulator_session.reset_counters()
    post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], [_me(1), _me(2)])
    counters = entra_emulator_session.counters()
    assert (counters["graph"], counters["graph_batched"]) == (1, 2)
    assert counters["graph_paths"] == {"/v1.0/$batch": 1, "/v1.0/me": 2}


def test_a_throttled_sub_request_sent_again_alone_is_answered(
    entra_emulator_session, ca_trusting_session, tokens
):
    # A rule that throttles once: the second batch, carrying only the throttled request, passes.
    rules = [{"path": "/v1.0/users", "status": 429, "retry_after": 0, "count": 1}]
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", rules=rules)
    first = get_all(
        ca_trusting_session, entra_emulator_session, tokens["broad"], me="/me", users="/users"
    )
    again = get_all(ca_trusting_session, entra_emulator_session, tokens["broad"], users="/users")
    assert (first["me"]["status"], first["users"]["status"]) == (200, 429)
    assert first["users"]["headers"]["Retry-After"] == "0"
    assert again["users"]["status"] == 200
    assert again["users"]["headers"]["request-id"] != first["users"]["headers"]["request-id"]


def test_a_whole_batch_can_be_throttled(entra_emulator_session, ca_trusting_session, tokens):
    rules = [{"path": "/v1.0/$batch", "status": 503, "retry_after": 3}]
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", rules=rules)
    response = post_batch(ca_trusting_session, entra_emulator_session, tokens["broad"], [_me(1)])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "serviceNotAvailable"
    assert not entra_emulator_session.state.request_log.query(path="/v1.0/me")
