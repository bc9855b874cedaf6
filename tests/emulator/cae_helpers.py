"""Helpers for the CAE and MFA tests: a CP1 MSAL client on the in-process transport."""

from __future__ import annotations

import base64
import json
import re

import jwt
import msal
from emulator_helpers import ADELE, REDIRECT_URI, TIMEOUT

SCOPES = ["User.Read"]


def cae_app(emulator, capabilities=("CP1",)):
    """The app's MSAL client: CP1 declared, so its tokens are CAE tokens."""
    return msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=emulator.client_secret,
        authority=emulator.authority,
        instance_discovery=False,
        http_client=emulator.http_client(),
        client_capabilities=list(capabilities) or None,
    )


def sign_in(emulator, app, claims=None, user=ADELE):
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post", claims_challenge=claims
    )
    result = app.acquire_token_by_auth_code_flow(flow, emulator.sign_in(flow["auth_uri"], user))
    assert "access_token" in result, result
    return result


def me(emulator, token):
    return emulator.http_client().get(
        f"{emulator.graph_endpoint}/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def challenge_of(response) -> dict:
    """The WWW-Authenticate parameters, with the claims decoded."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', response.headers["WWW-Authenticate"]))
    params["claims"] = json.loads(base64.b64decode(params["claims"]))
    return params


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def refresh(app):
    (account,) = app.get_accounts()
    return app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
