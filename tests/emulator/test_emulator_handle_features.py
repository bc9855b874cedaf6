"""The handle's feature methods (fault rules, token variants, clock, request log), in-process:
each one drives the same state as its /_emulator call, and reset() undoes them all."""

from __future__ import annotations

import msal
import pytest
import requests
from emulator_helpers import ADELE, REDIRECT_URI
from entra_emulator.faults import FaultRuleError


def _token(emulator, user=ADELE) -> str:
    """An access token for USER, signed in headlessly through real MSAL."""
    app = msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=emulator.client_secret,
        authority=emulator.authority,
        http_client=emulator.http_client(),
    )
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], user))
    assert "access_token" in result, result
    return result["access_token"]


def _me(emulator, token: str) -> requests.Response:
    with emulator.http_client() as session:
        return session.get(
            f"{emulator.graph_endpoint}/me", headers={"Authorization": f"Bearer {token}"}
        )


def test_set_fault_rules_takes_the_control_apis_json(emulator):
    token = _token(emulator)
    schedule = emulator.set_fault_rules(
        [{"name": "third", "path": "/v1.0/me", "status": 503, "nth": 3}], seed=7
    )
    assert schedule["seed"] == 7 and schedule["rules"][0]["name"] == "third"
    assert [_me(emulator, token).status_code for _ in range(4)] == [200, 200, 503, 200]
    (rule,) = emulator.fault_rules()["rules"]
    assert (rule["evaluated"], rule["fired"]) == (4, 1)
    emulator.clear_faults()
    assert emulator.fault_rules()["rules"] == []
    with pytest.raises(FaultRuleError, match="'rate'"):
        emulator.set_fault_rules([{"status": 500, "rate": 2}])


def test_set_fault_is_a_one_rule_schedule_with_every_status(emulator):
    token = _token(emulator)
    emulator.set_fault(502, count=1)
    assert [rule["status"] for rule in emulator.fault_rules()["rules"]] == [[502]]
    assert _me(emulator, token).json()["error"]["code"] == "generalException"
    assert _me(emulator, token).status_code == 200  # count spent
    emulator.set_fault(429, count=5)
    emulator.clear_faults()
    assert _me(emulator, token).status_code == 200
    with pytest.raises(ValueError, match="status"):
        emulator.set_fault(418)


def test_request_log_filters_and_clears(emulator):
    token = _token(emulator)
    emulator.set_fault(500)
    _me(emulator, token)
    _me(emulator, token)
    graph_calls = emulator.request_log(path="/v1.0/*", user=ADELE)
    assert [(e.status, e.fault) for e in graph_calls] == [(500, "fault"), (200, None)]
    assert all(e.client_id == emulator.client_id for e in graph_calls)
    (redeemed,) = emulator.request_log(method="POST", path="*/token", status=200)
    assert redeemed.path == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert [e.path for e in emulator.request_log(method="POST", path="/_emulator/*")] == [
        "/_emulator/signin",  # the sign-in pages are logged; control calls are not
        "/_emulator/consent",
    ]
    emulator.clear_request_log()
    assert emulator.request_log() == []


def test_add_token_variant_breaks_the_next_token_only(emulator):
    pending = emulator.add_token_variant("expired", tokens="access_token", user=ADELE)
    assert pending["variant"] == ["expired"] and pending["remaining"] == 1
    assert _me(emulator, _token(emulator)).status_code == 401
    assert _me(emulator, _token(emulator)).status_code == 200  # the variant was used up
    emulator.add_token_variant("wrong_issuer", tokens="access_token")
    emulator.clear_token_variants()
    assert _me(emulator, _token(emulator)).status_code == 200
    with pytest.raises(KeyError):
        emulator.add_token_variant("expired", user="nobody@contoso.example")


def test_clock_offset_and_advance_move_token_lifetimes(emulator):
    token = _token(emulator)
    before = emulator.now()
    assert emulator.advance_clock(3601) == 3601  # past the access token's hour
    assert emulator.now() - before >= 3601
    assert _me(emulator, token).status_code == 401
    assert emulator.set_clock_offset(0) == 0  # absolute, not cumulative
    assert _me(emulator, token).status_code == 200


def test_reset_clears_rules_variants_clock_and_log(emulator):
    token = _token(emulator)
    emulator.set_fault_rules([{"status": 503}])
    emulator.add_token_variant("expired", tokens="access_token")
    emulator.set_clock_offset(120)
    slept = []
    emulator.state.clock.sleep = slept.append
    emulator.reset()
    assert emulator.fault_rules() == {"seed": 0, "rules": []}
    assert emulator.state.token_variants.pending() == []
    assert emulator.state.clock.offset == 0 and emulator.state.clock.sleep is not slept.append
    assert emulator.request_log() == []
    assert _me(emulator, token).status_code == 401  # reset also forgets tokens issued before
    assert _me(emulator, _token(emulator)).status_code == 200
