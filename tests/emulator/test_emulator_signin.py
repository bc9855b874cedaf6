"""Sign-in through the emulator's pages with the real MSAL library."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from emulator_helpers import (
    ADELE,
    REDIRECT_URI,
    TIMEOUT,
    Browser,
    auth_response,
    authorize,
    make_app,
    sign_in,
)

ZOE = "zoe@contoso.example"


def _claims(jwt_text: str) -> dict:
    payload = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_msal_signs_in_with_entra_authority(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    assert flow["auth_uri"].startswith(entra_emulator.browser_base)  # the plain-HTTP listener
    browser.open(flow["auth_uri"])
    browser.pick_user(ZOE)
    browser.consent()
    result = app.acquire_token_by_auth_code_flow(flow, auth_response(browser))

    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["iss"] == f"{entra_emulator.authority}/v2.0"
    assert claims["aud"] == entra_emulator.client_id
    assert claims["preferred_username"] == ZOE
    assert claims["name"] == "Zoë Ðorđević"
    assert claims["tid"] == entra_emulator.tenant_id
    assert claims["nonce"]  # MSAL itself checks it against the flow
    (account,) = app.get_accounts()
    assert account["home_account_id"] == f"{claims['oid']}.{entra_emulator.tenant_id}"
    assert "User.Read" in result["scope"]


def test_msal_signs_in_with_oidc_authority(entra_emulator, ca_trusting_session):
    app = make_app(entra_emulator, oidc=True)
    result = sign_in(app, ["User.Read"])
    assert "access_token" in result, result
    me = ca_trusting_session.get(
        f"{entra_emulator.graph_endpoint}/me",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        timeout=TIMEOUT,
    )
    assert me.json()["userPrincipalName"] == ADELE  # Graph accepts its access tokens too
    assert result["id_token_claims"]["iss"] == entra_emulator.oidc_authority
    assert "tid" not in result["id_token_claims"]
    (account,) = app.get_accounts()
    assert account["home_account_id"] == result["id_token_claims"]["sub"]


def test_second_sign_in_reuses_the_session_and_consent(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    assert "access_token" in sign_in(app, ["User.Read"], browser)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    browser.open(flow["auth_uri"])  # no picker, no consent: straight back to the app
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, auth_response(browser))


def test_prompt_none_without_a_session_is_interaction_required(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post", prompt="none"
    )
    browser.open(flow["auth_uri"])
    response = auth_response(browser)
    assert response["error"] == "interaction_required"
    assert response["state"] == flow["state"]


def test_cancelled_consent_returns_access_denied(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    flow = app.initiate_auth_code_flow(
        ["Files.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post", prompt="consent"
    )
    browser.open(flow["auth_uri"])
    browser.pick_user("jose@contoso.example")
    browser.consent(accept=False)
    response = auth_response(browser)
    assert response["error"] == "access_denied"
    assert response["error_description"].startswith(
        "AADSTS65004: User declined to consent to access the app."
    )


def test_unknown_username_stays_on_the_picker(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    browser.open(flow["auth_uri"])
    page = browser.pick_user("nobody@contoso.example")
    assert page.status_code == 200
    assert "AADSTS50034" in page.text and "nobody@contoso.example" in page.text


@pytest.mark.parametrize(
    ("param", "value", "code"),
    [("redirect_uri", "http://evil.example/cb", "AADSTS50011"), ("client_id", "x", "AADSTS700016")],
)
def test_bad_client_or_redirect_uri_shows_an_error_page(entra_emulator, param, value, code):
    app = make_app(entra_emulator)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    url = urlsplit(flow["auth_uri"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    query[param] = value
    browser = Browser()
    page = browser.session.get(
        url._replace(query="").geturl(), params=query, allow_redirects=False, timeout=TIMEOUT
    )
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert code in page.text


def test_plain_pkce_is_rejected_with_a_redirect(entra_emulator):
    app = make_app(entra_emulator)
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    url = flow["auth_uri"].replace("code_challenge_method=S256", "code_challenge_method=plain")
    browser = Browser()
    browser.open(url)
    response = auth_response(browser)
    assert response["error"] == "invalid_request"
    assert response["state"] == flow["state"]


def test_wrong_code_verifier_is_invalid_grant(entra_emulator):
    app = make_app(entra_emulator)
    flow, fields = authorize(app, ["User.Read"])
    flow["code_verifier"] = "x" * 43
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert result["error"] == "invalid_grant"
    assert 501481 in result["error_codes"]


def test_code_is_single_use(entra_emulator):
    app = make_app(entra_emulator)
    flow, fields = authorize(app, ["User.Read"])
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), fields)
    replay = app.acquire_token_by_auth_code_flow(dict(flow), fields)
    assert replay["error"] == "invalid_grant"
    assert replay["error_codes"] == [54005]


def test_wrong_client_secret_is_invalid_client(entra_emulator, ca_trusting_session):
    app = make_app(entra_emulator, secret="not-the-secret")
    result = sign_in(app, ["User.Read"])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    basic = ca_trusting_session.post(
        f"{entra_emulator.authority}/oauth2/v2.0/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=(entra_emulator.client_id, "wrong"),
        timeout=TIMEOUT,
    )
    assert basic.status_code == 401
    body = basic.json()
    assert body["error"] == "invalid_client"
    assert {"trace_id", "correlation_id", "timestamp", "error_codes"} <= body.keys()


def test_logout_clears_the_session_and_redirects(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    sign_in(app, ["User.Read"], browser)
    logout = browser.open(
        f"{entra_emulator.browser_base}/{entra_emulator.tenant_id}/oauth2/v2.0/logout"
        "?post_logout_redirect_uri=http://localhost:5000/"
    )
    assert logout.status_code == 302
    assert logout.headers["Location"] == "http://localhost:5000/"
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    assert "Pick an account" in browser.open(flow["auth_uri"]).text
    elsewhere = browser.open(
        f"{entra_emulator.browser_base}/common/oauth2/v2.0/logout"
        "?post_logout_redirect_uri=http://evil.example/"
    )
    assert elsewhere.status_code == 200 and "You signed out" in elsewhere.text


def test_select_account_highlights_the_current_user_and_login_hint_preselects(entra_emulator):
    app = make_app(entra_emulator)
    browser = Browser()
    sign_in(app, ["User.Read"], browser, upn="isaiah@contoso.example")
    flow = app.initiate_auth_code_flow(
        ["User.Read"],
        redirect_uri=REDIRECT_URI,
        response_mode="form_post",
        prompt="select_account",
        login_hint="aiko@contoso.example",
    )
    page = browser.open(flow["auth_uri"]).text
    assert "signed in" in page  # the current account is marked
    assert 'value="aiko@contoso.example" placeholder' in page


def test_common_authority_discovery_uses_the_tenantid_placeholder(
    entra_emulator, ca_trusting_session
):
    base = entra_emulator.authority.rsplit("/", 1)[0]
    config = ca_trusting_session.get(
        f"{base}/common/v2.0/.well-known/openid-configuration", timeout=TIMEOUT
    )
    assert config.json()["issuer"] == f"{base}/{{tenantid}}/v2.0"
    unknown = ca_trusting_session.get(
        f"{base}/nope/v2.0/.well-known/openid-configuration", timeout=TIMEOUT
    )
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [90002]
