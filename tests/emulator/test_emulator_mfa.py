"""MFA step-up: Conditional Access demands MFA, token requests say so with claims."""

from __future__ import annotations

import json

from cae_helpers import SCOPES, cae_app, claims_of, refresh, sign_in
from emulator_helpers import ADELE, REDIRECT_URI, TIMEOUT, make_app
from emulator_helpers import sign_in as listener_sign_in

MEGAN = "megan@contoso.example"


def test_refresh_is_interaction_required_with_claims_while_mfa_is_demanded(emulator):
    app = cae_app(emulator)
    sign_in(emulator, app)
    emulator.require_mfa(ADELE)
    result = refresh(app)
    assert result["error"] == "interaction_required"
    assert result["error_codes"] == [50076]
    assert result["error_description"].startswith("AADSTS50076: ")
    assert result["suberror"] == "basic_action"
    wanted = json.loads(result["claims"])["access_token"]["capolids"]
    assert wanted["essential"] is True and len(wanted["values"]) == 1


def test_a_sign_in_without_the_claims_does_not_perform_mfa(emulator):
    app = cae_app(emulator)
    emulator.require_mfa(ADELE)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], ADELE))
    assert result["error"] == "interaction_required" and result["error_codes"] == [50076]


def test_a_sign_in_carrying_the_claims_performs_mfa_and_clears_the_demand(emulator):
    app = cae_app(emulator)
    first = sign_in(emulator, app)
    emulator.require_mfa(ADELE)
    claims = refresh(app)["claims"]
    stepped_up = sign_in(emulator, cae_app(emulator), claims=claims)
    assert claims_of(stepped_up["access_token"])["amr"] == ["pwd", "mfa"]
    # The demand is met: the first sign-in's refresh token works again. (Sent by hand:
    # MSAL would replay the 400 it saw for this very request from its throttling cache.)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
    }
    token_url = f"{emulator.authority}/oauth2/v2.0/token"
    assert emulator.http_client().post(token_url, data=form, timeout=TIMEOUT).status_code == 200


def test_mfa_is_demanded_of_one_user_only(emulator):
    megan = cae_app(emulator)
    sign_in(emulator, megan, user=MEGAN)
    emulator.require_mfa(ADELE)
    assert "access_token" in refresh(megan)


def test_require_mfa_from_the_control_api(entra_emulator):
    app = make_app(entra_emulator)
    assert "access_token" in listener_sign_in(app, SCOPES, upn=MEGAN)
    with entra_emulator.trusting_session() as session:
        url = f"{entra_emulator.control_url}/require-mfa"
        assert session.post(url, json={"user": MEGAN}, timeout=TIMEOUT).status_code == 204
    assert refresh(app)["error_codes"] == [50076]
