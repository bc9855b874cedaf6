"""Helpers for the account-kind and admin-consent tests: in-process MSAL at any authority."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import msal
import requests
from emulator_helpers import REDIRECT_URI

CONSUMER_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
LOGIN = "https://login.microsoftonline.com"
KAI = "kai.carter@outlook.example"  # personal Microsoft account
ELLIS = "ellis_fabrikam.example#EXT#@contosodemo.onmicrosoft.com"  # guest
LEE = "lee@contoso.example"  # member without a OneDrive
MEGAN = "megan@contoso.example"  # member, not an admin
GRADY = "grady@contoso.example"


def msal_app(emulator, segment: str | None = None, client_id=None, secret=None):
    """A real MSAL client at login.microsoftonline.com/SEGMENT (the tenant id by default)."""
    return msal.ConfidentialClientApplication(
        client_id or emulator.client_id,
        client_credential=secret or emulator.client_secret,
        authority=f"{LOGIN}/{segment or emulator.tenant_id}",
        http_client=emulator.http_client(),
    )


def flow_for(app, scopes, **kwargs) -> dict:
    kwargs.setdefault("response_mode", "form_post")
    return app.initiate_auth_code_flow(list(scopes), redirect_uri=REDIRECT_URI, **kwargs)


def signed_in(emulator, upn: str, scopes, segment: str | None = None, **sign_in_kwargs) -> dict:
    """MSAL's token response for UPN signed in headlessly; fails the test on an error."""
    app = msal_app(emulator, segment)
    flow = flow_for(app, scopes)
    fields = emulator.sign_in(flow["auth_uri"], upn, **sign_in_kwargs)
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result
    return result


def graph(emulator, token: str, path: str, method: str = "GET", **kwargs) -> requests.Response:
    """A Graph call in-process: keyword arguments are query parameters, or `json=` a body."""
    body = kwargs.pop("json", None)
    with requests.Session() as session:
        emulator.mount(session)
        return session.request(
            method,
            path if path.startswith("https://") else f"{emulator.graph_endpoint}{path}",
            params=kwargs,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def redirect_fields(response: requests.Response) -> dict[str, str]:
    """The fields of a query-mode answer: the emulator's 302 to the redirect URI."""
    assert response.status_code == 302, response.text[:300]
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.query))
