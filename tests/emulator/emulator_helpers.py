"""Helpers for the emulator tests: real MSAL clients and a scripted browser."""

from __future__ import annotations

import msal
from entra_emulator.scripted_browser import Browser

REDIRECT_URI = "http://localhost:5000/getAToken"
ADELE = "adele@contoso.example"
TIMEOUT = 10


def make_app(emulator, *, oidc: bool = False, secret: str | None = None):
    """A real MSAL confidential client pointed at the emulator, as the app builds it."""
    session = emulator.trusting_session()
    where = (
        {"oidc_authority": emulator.oidc_authority}
        if oidc
        else {"authority": emulator.authority, "instance_discovery": False}
    )
    return msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=secret or emulator.client_secret,
        http_client=session,
        **where,
    )


def auth_response(browser: Browser) -> dict[str, str]:
    action, fields = browser.auth_response()
    assert action == REDIRECT_URI
    return fields


def authorize(app, scopes, browser: Browser | None = None, upn: str = ADELE, **flow_kwargs):
    """Walk the sign-in pages; return MSAL's flow and the fields posted back to the app."""
    browser = browser or Browser()
    flow = app.initiate_auth_code_flow(
        scopes, redirect_uri=REDIRECT_URI, response_mode="form_post", **flow_kwargs
    )
    browser.open(flow["auth_uri"])
    if "Pick an account" in browser.page.text:
        browser.pick_user(upn)
    if "Permissions requested" in browser.page.text:
        browser.consent()
    return flow, auth_response(browser)


def sign_in(app, scopes, browser: Browser | None = None, upn: str = ADELE, **flow_kwargs):
    """Sign a user in through the pages and redeem the code with MSAL; returns the result."""
    flow, fields = authorize(app, scopes, browser, upn, **flow_kwargs)
    return app.acquire_token_by_auth_code_flow(flow, fields)


def inprocess_client(emulator, authority: str | None = None):
    """A real MSAL client on the in-process transport (the emulator's authority by default)."""
    return msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=emulator.client_secret,
        authority=authority or emulator.authority,
        instance_discovery=False,
        http_client=emulator.http_client(),
    )


def inprocess_token(emulator, scopes, upn: str = ADELE, authority: str | None = None) -> str:
    """An access token for SCOPES from a real MSAL sign-in on the in-process transport."""
    app = inprocess_client(emulator, authority)
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, response_mode="form_post")
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], upn))
    return result["access_token"]
