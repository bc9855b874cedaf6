"""Helpers for the fault, batch, token-variant and request-log tests."""

from __future__ import annotations

import requests
from emulator_helpers import TIMEOUT, make_app, sign_in

BROAD = ["User.Read", "User.ReadBasic.All", "Files.Read.All"]
PATTI = "patti@contoso.example"
GRADY = "grady@contoso.example"


def control(
    ca_trusting_session: requests.Session, entra_emulator_session, method: str, path: str, **body
) -> requests.Response:
    """Call the control API; keyword arguments become the JSON body."""
    return ca_trusting_session.request(
        method, entra_emulator_session.control_url + path, json=body or None, timeout=TIMEOUT
    )


def graph(
    ca_trusting_session: requests.Session,
    entra_emulator_session,
    token: str,
    path: str,
    method: str = "GET",
    **kwargs,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return ca_trusting_session.request(
        method,
        entra_emulator_session.graph_endpoint + path,
        headers=headers,
        timeout=TIMEOUT,
        **kwargs,
    )


def signed_in(entra_emulator_session, upn: str = PATTI, scopes: list[str] | None = None) -> dict:
    """MSAL's token response for a user signed in through the emulator's pages."""
    result = sign_in(make_app(entra_emulator_session), scopes or BROAD, upn=upn)
    assert "access_token" in result, result
    return result
