"""Refresh tokens: silent refresh, rotation, revocation and incremental consent."""

from __future__ import annotations

import pytest
from emulator_helpers import TIMEOUT, make_app, sign_in

MEGAN = "megan@contoso.example"


@pytest.fixture
def signed_in(entra_emulator_session):
    app = make_app(entra_emulator_session)
    result = sign_in(app, ["User.Read"], upn=MEGAN)
    assert "access_token" in result, result
    (account,) = app.get_accounts()
    return app, account, result


def test_msal_refreshes_when_the_access_token_is_nearly_expired(
    entra_emulator_session, ca_trusting_session, signed_in
):
    app, account, first = signed_in
    assert (
        app.acquire_token_silent(["User.Read"], account)["access_token"] == first["access_token"]
    )  # still fresh: served from MSAL's cache
    ca_trusting_session.post(
        f"{entra_emulator_session.control_url}/settings",
        json={"access_token_lifetime": 120},
        timeout=TIMEOUT,
    )
    before = ca_trusting_session.get(
        f"{entra_emulator_session.control_url}/counters", timeout=TIMEOUT
    ).json()["token"]
    refreshed = app.acquire_token_silent(["User.Read"], account, force_refresh=True)
    assert refreshed["expires_in"] <= 120
    # Under five minutes left, so MSAL refreshes again on the next call.
    again = app.acquire_token_silent(["User.Read"], account)
    assert again["access_token"] != refreshed["access_token"]
    after = ca_trusting_session.get(
        f"{entra_emulator_session.control_url}/counters", timeout=TIMEOUT
    ).json()["token"]
    assert after - before == 2


def test_revoked_refresh_token_is_invalid_grant(
    entra_emulator_session, ca_trusting_session, signed_in
):
    app, account, _ = signed_in
    revoked = ca_trusting_session.post(
        f"{entra_emulator_session.control_url}/revoke", json={"user": MEGAN}, timeout=TIMEOUT
    )
    assert revoked.json()["revoked"] >= 1
    result = app.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert 50173 in result["error_codes"]


def test_unconsented_scope_on_refresh_is_consent_required(signed_in):
    app, account, _ = signed_in
    result = app.acquire_token_silent_with_error(["Files.Read"], account)
    assert result["error"] == "invalid_grant"
    assert result["suberror"] == "consent_required"
    assert "AADSTS65001" in result["error_description"]


def test_rotated_refresh_tokens_stay_valid_until_revoked(
    entra_emulator_session, ca_trusting_session, signed_in
):
    _, _, first = signed_in
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": entra_emulator_session.client_id,
        "client_secret": entra_emulator_session.client_secret,
        "scope": "User.Read offline_access",
    }
    token_url = f"{entra_emulator_session.authority}/oauth2/v2.0/token"
    rotated = ca_trusting_session.post(token_url, data=form, timeout=TIMEOUT).json()
    assert rotated["refresh_token"] != first["refresh_token"]
    # As in Entra, the new refresh token does not revoke the old one, even much later.
    entra_emulator_session.advance_clock(3 * 3600)
    try:
        assert ca_trusting_session.post(token_url, data=form, timeout=TIMEOUT).status_code == 200
        newer = {**form, "refresh_token": rotated["refresh_token"]}
        assert ca_trusting_session.post(token_url, data=newer, timeout=TIMEOUT).status_code == 200
        entra_emulator_session.revoke(MEGAN)
        for token_form in (form, newer):
            late = ca_trusting_session.post(token_url, data=token_form, timeout=TIMEOUT)
            assert late.status_code == 400 and 50173 in late.json()["error_codes"]
    finally:
        entra_emulator_session.set_clock_offset(0)


def test_expired_access_tokens_are_401_until_refreshed(entra_emulator_session, ca_trusting_session):
    app = make_app(entra_emulator_session)
    token = sign_in(app, ["User.Read"], upn="lidia@contoso.example")["access_token"]
    ca_trusting_session.post(f"{entra_emulator_session.control_url}/expire-tokens", timeout=TIMEOUT)
    response = ca_trusting_session.get(
        f"{entra_emulator_session.graph_endpoint}/me",
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Access token has expired or is not yet valid."
    assert "WWW-Authenticate" in response.headers
    (account,) = app.get_accounts()
    fresh = app.acquire_token_silent(["User.Read"], account, force_refresh=True)
    assert ca_trusting_session.get(
        f"{entra_emulator_session.graph_endpoint}/me",
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {fresh['access_token']}"},
    ).ok
