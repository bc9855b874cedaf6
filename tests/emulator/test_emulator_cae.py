"""Continuous Access Evaluation: CP1 tokens, critical events, claims challenges, answers."""

from __future__ import annotations

import json

import msal
import pytest
from cae_helpers import SCOPES, cae_app, challenge_of, claims_of, me, refresh, sign_in
from emulator_helpers import ADELE, REDIRECT_URI, TIMEOUT


def test_cp1_clients_get_tokens_with_xms_cc_and_others_do_not(emulator):
    cae_token = sign_in(emulator, cae_app(emulator))["access_token"]
    assert claims_of(cae_token)["xms_cc"] == ["CP1"]
    assert claims_of(cae_token)["amr"] == ["pwd"]
    plain = sign_in(emulator, cae_app(emulator, capabilities=()))["access_token"]
    assert "xms_cc" not in claims_of(plain)


def test_revocation_challenges_cae_tokens_with_the_event_time(emulator):
    token = sign_in(emulator, cae_app(emulator))["access_token"]
    assert me(emulator, token).status_code == 200
    emulator.advance_clock(5)
    revoked_at = int(emulator.now())
    emulator.revoke(ADELE)
    refused = me(emulator, token)
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"].startswith("Continuous access evaluation resulted in challenge")
    assert "TokenIssuedBeforeRevocationTimestamp" in error["message"]
    header = refused.headers["WWW-Authenticate"]
    assert header.startswith('Bearer realm="", ')
    params = challenge_of(refused)
    assert (
        params["authorization_uri"] == "https://login.microsoftonline.com/common/oauth2/authorize"
    )
    assert params["error"] == "insufficient_claims"
    nbf = params["claims"]["access_token"]["nbf"]
    # The revocation's time, give or take the second that may pass while revoking.
    assert nbf["essential"] is True and 0 <= int(nbf["value"]) - revoked_at <= 1


def test_without_cp1_a_revoked_users_token_stays_valid_until_it_expires(emulator):
    token = sign_in(emulator, cae_app(emulator, capabilities=()))["access_token"]
    emulator.revoke(ADELE)
    assert me(emulator, token).status_code == 200
    emulator.advance_clock(3601)
    assert me(emulator, token).json()["error"]["message"] == (
        "Access token has expired or is not yet valid."
    )


def test_after_a_revocation_only_a_new_sign_in_gets_tokens_graph_accepts(emulator):
    app = cae_app(emulator)
    token = sign_in(emulator, app)["access_token"]
    emulator.revoke(ADELE)
    assert "TokenIssuedBeforeRevocationTimestamp" in me(emulator, token).json()["error"]["message"]
    # Revocation ended the refresh tokens: MSAL has to sign in again.
    assert 50173 in refresh(app)["error_codes"]
    # Entra checks only that a token was issued after the revocation timestamp.
    assert me(emulator, sign_in(emulator, app)["access_token"]).status_code == 200
    # Refreshes from that sign-in stay valid; a later event challenges them again.
    assert me(emulator, refresh(app)["access_token"]).status_code == 200
    emulator.advance_clock(10)
    emulator.critical_event(ADELE)
    assert me(emulator, refresh(app)["access_token"]).status_code == 401


def test_after_a_location_change_only_a_sign_in_carrying_the_claims_answers_it(emulator):
    app = cae_app(emulator)
    token = sign_in(emulator, app)["access_token"]
    emulator.advance_clock(1)
    emulator.location_changed(ADELE)
    refused = me(emulator, token)
    claims = json.dumps(challenge_of(refused)["claims"])
    unanswered = sign_in(emulator, app)["access_token"]
    assert me(emulator, unanswered).status_code == 401
    assert me(emulator, sign_in(emulator, app, claims=claims)["access_token"]).status_code == 200


def test_after_a_location_change_refreshed_tokens_are_still_challenged(emulator):
    app = cae_app(emulator)
    token = sign_in(emulator, app)["access_token"]
    event = emulator.location_changed(ADELE)
    refused = me(emulator, token)
    assert "LocationConditionEvaluationSatisfied" in refused.json()["error"]["message"]
    assert challenge_of(refused)["claims"]["access_token"]["nbf"]["value"] == str(event)
    refreshed = refresh(app)  # refresh tokens survive a location change
    assert me(emulator, refreshed["access_token"]).status_code == 401
    claims = json.dumps(challenge_of(refused)["claims"])
    assert me(emulator, sign_in(emulator, app, claims=claims)["access_token"]).ok


def test_a_sign_in_claiming_a_future_nbf_is_not_immune_to_later_events(emulator):
    app = cae_app(emulator)
    future = json.dumps({"access_token": {"nbf": {"essential": True, "value": "9999999999"}}})
    token = sign_in(emulator, app, claims=future)["access_token"]
    emulator.advance_clock(5)
    emulator.critical_event(ADELE)
    assert me(emulator, token).status_code == 401


def test_events_are_per_user_and_reset_forgets_them(emulator):
    adele = sign_in(emulator, cae_app(emulator))["access_token"]
    megan = sign_in(emulator, cae_app(emulator), user="megan@contoso.example")["access_token"]
    emulator.critical_event(ADELE)
    assert me(emulator, adele).status_code == 401
    assert me(emulator, megan).status_code == 200
    emulator.reset()
    fresh = sign_in(emulator, cae_app(emulator))["access_token"]
    assert me(emulator, fresh).status_code == 200


def test_malformed_claims_on_the_token_request_are_invalid_request(emulator):
    app = cae_app(emulator)
    result = sign_in(emulator, app)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": result["refresh_token"],
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "claims": "{not json",
    }
    answer = emulator.http_client().post(
        f"{emulator.authority}/oauth2/v2.0/token", data=form, timeout=TIMEOUT
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["error_codes"] == [90100]


@pytest.mark.parametrize("path", ["/location-changed", "/critical-event", "/require-mfa"])
def test_control_calls_name_a_known_user(entra_emulator, path):
    with entra_emulator.trusting_session() as session:
        url = entra_emulator.control_url + path
        assert session.post(url, json={}, timeout=TIMEOUT).status_code == 400
        assert session.post(url, json={"user": "nobody@x"}, timeout=TIMEOUT).status_code == 404
        assert session.post(url, json={"user": ADELE}, timeout=TIMEOUT).ok


def test_location_change_from_the_control_api_challenges_over_the_listeners(entra_emulator):
    emu = entra_emulator
    with emu.trusting_session() as session:
        app = msal.ConfidentialClientApplication(
            emu.client_id,
            client_credential=emu.client_secret,
            authority=emu.authority,
            instance_discovery=False,
            http_client=session,
            client_capabilities=["CP1"],
        )
        flow = app.initiate_auth_code_flow(
            SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post"
        )
        token = app.acquire_token_by_auth_code_flow(flow, emu.sign_in(flow["auth_uri"], ADELE))
        posted = session.post(
            f"{emu.control_url}/location-changed", json={"user": ADELE}, timeout=TIMEOUT
        )
        assert 0 < posted.json()["event"] <= int(emu.now())  # seconds, so no equality
        refused = session.get(
            f"{emu.graph_endpoint}/me",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=TIMEOUT,
        )
    assert refused.status_code == 401
    assert 'error="insufficient_claims"' in refused.headers["WWW-Authenticate"]
