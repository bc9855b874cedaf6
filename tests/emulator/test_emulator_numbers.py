"""Numbers from callers: non-ASCII digits, huge values and non-integers are 400s, never 500s."""

from __future__ import annotations

import base64
import json

import pytest
from emulator_helpers import TIMEOUT
from feature_helpers import control, graph, signed_in

HOSTILE_TOP = [
    "²",  # str.isdigit() is True, int() raises
    "١٢",  # Arabic-Indic digits: int() would read 12
    "１０",  # fullwidth digits
    "9" * 5000,  # int() refuses strings this long
    "1_0",
    " 5",
    "-1",
    "0",
    "1e3",
    "",
]


@pytest.fixture(scope="module")
def token(entra_emulator_session):
    return signed_in(entra_emulator_session)["access_token"]


@pytest.mark.parametrize("top", HOSTILE_TOP)
def test_hostile_top_is_graphs_400(entra_emulator_session, ca_trusting_session, token, top):
    response = graph(
        ca_trusting_session, entra_emulator_session, token, "/users", params={"$top": top}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert "Invalid page size" in error["message"]
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()


def test_plain_ascii_top_still_pages(entra_emulator_session, ca_trusting_session, token):
    assert (
        len(
            graph(
                ca_trusting_session, entra_emulator_session, token, "/users", params={"$top": "03"}
            ).json()["value"]
        )
        == 3
    )


def _skiptoken(raw_json: str) -> str:
    return base64.urlsafe_b64encode(raw_json.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token_json", ['{"o": 1e400}', '{"o": "²"}', '{"o": -3}', '{"o": 2.5}', '{"o": true}', "[1]"]
)
def test_hostile_skiptoken_is_400(entra_emulator_session, ca_trusting_session, token, token_json):
    response = graph(
        ca_trusting_session,
        entra_emulator_session,
        token,
        "/users",
        params={"$skiptoken": _skiptoken(token_json)},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid $skiptoken."


@pytest.mark.parametrize("skiptoken", ["²²²²", "%%%%", "9" * 5000])
def test_undecodable_skiptoken_is_400(
    entra_emulator_session, ca_trusting_session, token, skiptoken
):
    response = graph(
        ca_trusting_session,
        entra_emulator_session,
        token,
        "/users",
        params={"$skiptoken": skiptoken},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "field", ['"from": 1e400', '"size": 1e400', '"from": "²"', '"size": true', '"from": 1.5']
)
def test_hostile_search_paging_is_400(entra_emulator_session, ca_trusting_session, token, field):
    body = (
        '{"requests": [{"entityTypes": ["driveItem"], "query": {"queryString": "report"}, '
        + field
        + "}]}"
    )
    response = graph(
        ca_trusting_session,
        entra_emulator_session,
        token,
        "/search/query",
        method="POST",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/faults", {"status": 429, "count": "²"}),
        ("/faults", {"status": 429, "count": 10**40}),
        ("/faults", {"delay": "1", "count": 1}),
        ("/faults", {"status": True, "count": 1}),
        ("/settings", {"access_token_lifetime": True}),
        ("/settings", {"access_token_lifetime": "٣٦٠٠"}),
        ("/clock", {"offset": "²"}),
    ],
)
def test_hostile_control_numbers_are_400(entra_emulator_session, ca_trusting_session, path, body):
    response = control(ca_trusting_session, entra_emulator_session, "POST", path, **body)
    assert response.status_code == 400
    assert "error" in response.json()


def test_infinite_clock_offset_is_400(entra_emulator_session, ca_trusting_session):
    response = ca_trusting_session.post(
        entra_emulator_session.control_url + "/clock",
        data=json.dumps({"offset": float("inf")}),  # Python's json writes Infinity
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
