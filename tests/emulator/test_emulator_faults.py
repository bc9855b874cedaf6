"""Fault schedules: seeded rates, the nth request, Retry-After, latency, early retries."""

from __future__ import annotations

import pytest
from emulator_helpers import TIMEOUT
from feature_helpers import control, graph, signed_in


@pytest.fixture(scope="module")
def token(entra_emulator_session):
    return signed_in(entra_emulator_session)["access_token"]


@pytest.fixture(autouse=True)
def _reset(entra_emulator_session):
    yield
    entra_emulator_session.state.reset_features()


@pytest.fixture
def slept(entra_emulator_session):
    """Latency the emulator asked for, recorded instead of slept (its sleep is injectable)."""
    calls: list[float] = []
    real = entra_emulator_session.state.clock.sleep
    entra_emulator_session.state.clock.sleep = calls.append
    yield calls
    entra_emulator_session.state.clock.sleep = real


def schedule(ca_trusting_session, entra_emulator_session, *rules, seed=0):
    response = control(
        ca_trusting_session, entra_emulator_session, "POST", "/faults", seed=seed, rules=list(rules)
    )
    assert response.status_code == 200, response.text
    return response.json()


def statuses(ca_trusting_session, entra_emulator_session, token, path="/me", n=1):
    return [
        graph(ca_trusting_session, entra_emulator_session, token, path).status_code
        for _ in range(n)
    ]


def test_only_the_third_matching_request_fails_with_graphs_503(
    entra_emulator_session, ca_trusting_session, token
):
    schedule(
        ca_trusting_session, entra_emulator_session, {"path": "/v1.0/me", "status": 503, "nth": 3}
    )
    assert statuses(ca_trusting_session, entra_emulator_session, token, "/users") == [
        200
    ]  # does not match: not counted
    answers = [graph(ca_trusting_session, entra_emulator_session, token, "/me") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 503, 200]
    error = answers[2].json()["error"]
    assert error["code"] == "serviceNotAvailable"
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    assert "Retry-After" not in answers[2].headers  # absent unless the rule gives one


def test_same_seed_same_outcomes_different_seed_different(
    entra_emulator_session, ca_trusting_session, token
):
    rule = {"path": "/v1.0/*", "status": [429, 500, 502, 503, 504], "rate": 0.5}
    runs = []
    for seed in (7, 7, 8):
        schedule(ca_trusting_session, entra_emulator_session, rule, seed=seed)
        runs.append(statuses(ca_trusting_session, entra_emulator_session, token, n=20))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {200, 429, 500, 502, 503, 504} <= set(runs[0] + runs[2])


def test_429_carries_retry_after_and_graphs_body(
    entra_emulator_session, ca_trusting_session, token
):
    schedule(
        ca_trusting_session, entra_emulator_session, {"status": 429, "retry_after": 4, "count": 1}
    )
    throttled = graph(ca_trusting_session, entra_emulator_session, token, "/me")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "4"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert throttled.json()["error"]["message"] == "Too many requests"
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=2) == [
        200,
        200,
    ]  # count spent


def test_method_and_regex_select_the_requests(entra_emulator_session, ca_trusting_session, token):
    schedule(
        ca_trusting_session,
        entra_emulator_session,
        {"method": "GET", "path_regex": r"/v1\.0/users/[^/]+", "status": 500},
    )
    assert graph(ca_trusting_session, entra_emulator_session, token, "/users").status_code == 200
    failed = graph(
        ca_trusting_session, entra_emulator_session, token, "/users/grady@contoso.example"
    )
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "generalException"
    schedule(
        ca_trusting_session,
        entra_emulator_session,
        {"method": "POST", "path": "/v1.0/me", "status": 500},
    )
    assert graph(ca_trusting_session, entra_emulator_session, token, "/me").status_code == 200


def test_client_back_before_retry_after_is_throttled_again(
    entra_emulator_session, ca_trusting_session, token
):
    schedule(
        ca_trusting_session,
        entra_emulator_session,
        {"status": 429, "retry_after": 10, "nth": 1, "throttle_early_retries": True},
    )
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=2) == [
        429,
        429,
    ]  # the retry came at once
    entra_emulator_session.state.clock.advance(5)
    early = graph(ca_trusting_session, entra_emulator_session, token, "/me")
    assert early.status_code == 429 and early.headers["Retry-After"] == "10"
    entra_emulator_session.state.clock.advance(
        6
    )  # 11 s after the first 429, but only 6 after the last
    assert statuses(ca_trusting_session, entra_emulator_session, token) == [429]
    entra_emulator_session.state.clock.advance(11)
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=2) == [200, 200]
    rule = control(ca_trusting_session, entra_emulator_session, "GET", "/faults").json()["rules"][0]
    assert (rule["evaluated"], rule["fired"]) == (3, 1)  # early retries are not evaluated


def test_without_early_retry_throttling_the_next_request_passes(
    entra_emulator_session, ca_trusting_session, token
):
    schedule(
        ca_trusting_session, entra_emulator_session, {"status": 429, "retry_after": 10, "nth": 1}
    )
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=2) == [429, 200]


def test_latency_is_drawn_from_the_range_and_repeats_with_the_seed(
    entra_emulator_session, ca_trusting_session, token, slept
):
    rule = {"path": "/v1.0/me", "latency": [0.2, 0.4]}
    schedule(ca_trusting_session, entra_emulator_session, rule, seed=3)
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=3) == [200, 200, 200]
    assert statuses(ca_trusting_session, entra_emulator_session, token, "/users") == [200]
    first = list(slept)
    assert len(first) == 3 and all(0.2 <= s <= 0.4 for s in first)
    schedule(ca_trusting_session, entra_emulator_session, rule, seed=3)
    statuses(ca_trusting_session, entra_emulator_session, token, n=3)
    assert slept[3:] == first


def test_original_single_fault_api_still_works(
    entra_emulator_session, ca_trusting_session, token, slept
):
    control(
        ca_trusting_session,
        entra_emulator_session,
        "POST",
        "/faults",
        status=504,
        count=2,
        retry_after=1,
    )
    answers = [graph(ca_trusting_session, entra_emulator_session, token, "/me") for _ in range(3)]
    assert [a.status_code for a in answers] == [504, 504, 200]
    assert answers[0].headers["Retry-After"] == "1"
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", delay=0.25, count=1)
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=2) == [200, 200]
    assert slept == [0.25]
    control(ca_trusting_session, entra_emulator_session, "POST", "/faults", status=429, count=5)
    assert (
        control(ca_trusting_session, entra_emulator_session, "DELETE", "/faults").status_code == 204
    )
    assert statuses(ca_trusting_session, entra_emulator_session, token) == [200]


def token_form(entra_emulator_session) -> dict:
    return {
        "grant_type": "refresh_token",
        "refresh_token": "not-looked-at-when-a-fault-answers",
        "client_id": entra_emulator_session.client_id,
        "client_secret": entra_emulator_session.client_secret,
    }


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (429, "temporarily_unavailable", 90024),
        (500, "server_error", 50000),
        (503, "temporarily_unavailable", 90033),
    ],
)
def test_token_endpoint_faults_answer_entras_error_json(
    entra_emulator_session, ca_trusting_session, status, error, code
):
    schedule(
        ca_trusting_session,
        entra_emulator_session,
        {"target": "token", "status": status, "retry_after": 3, "count": 1},
    )
    url = f"{entra_emulator_session.authority}/oauth2/v2.0/token"
    answer = ca_trusting_session.post(url, data=token_form(entra_emulator_session), timeout=TIMEOUT)
    assert answer.status_code == status
    assert answer.headers["Retry-After"] == "3"
    body = answer.json()
    assert body["error"] == error and body["error_codes"] == [code]
    assert {"trace_id", "correlation_id", "timestamp"} <= body.keys()
    after = ca_trusting_session.post(url, data=token_form(entra_emulator_session), timeout=TIMEOUT)
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_token_rules_leave_graph_alone_and_graph_rules_leave_tokens_alone(
    entra_emulator_session, ca_trusting_session, token
):
    schedule(ca_trusting_session, entra_emulator_session, {"target": "token", "status": 500})
    assert statuses(ca_trusting_session, entra_emulator_session, token) == [200]
    schedule(ca_trusting_session, entra_emulator_session, {"status": 500})
    url = f"{entra_emulator_session.authority}/oauth2/v2.0/token"
    assert (
        ca_trusting_session.post(
            url, data=token_form(entra_emulator_session), timeout=TIMEOUT
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"status": 404},
        {"status": 429, "rate": 2},
        {"latency": [2, 1]},
        {"latency": 120},
        {"status": 429, "nth": 0},
        {"status": 429, "colour": "red"},
        {"status": 429, "path_regex": "("},
        {"status": 429, "path": "*", "path_regex": ".*"},
        {"status": 429, "throttle_early_retries": True},
        {"status": 429, "method": "BREW"},
        {"status": 429, "target": "authorize"},
        {},
    ],
)
def test_bad_rules_are_400_naming_the_problem(entra_emulator_session, ca_trusting_session, rule):
    response = control(ca_trusting_session, entra_emulator_session, "POST", "/faults", rules=[rule])
    assert response.status_code == 400
    assert "rule" in response.json()["error"]


def test_set_fault_rules_from_python(entra_emulator_session, ca_trusting_session, token):
    from entra_emulator.fault_rules import parse_rule

    entra_emulator_session.state.set_fault_rules(
        [parse_rule({"status": 502, "nth": [1, 2]})], seed=1
    )
    assert statuses(ca_trusting_session, entra_emulator_session, token, n=3) == [502, 502, 200]
    entra_emulator_session.state.clear_fault_rules()
    assert control(ca_trusting_session, entra_emulator_session, "GET", "/faults").json() == {
        "seed": 0,
        "rules": [],
    }
