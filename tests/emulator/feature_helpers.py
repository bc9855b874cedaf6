"""Helpers for the fault, batch, token-variant and request-log tests."""

from __future__ import annotations

import requests
from emulator_helpers import TIMEOUT, make_app, sign_in

BROAD = ["User.Read", "User.ReadBasic.All", "Files.Read.All"]
PATTI = "patti@contoso.example"
GRADY = "grady@contoso.example"


def control(https: requests.Session, emulator, method: str, path: str, **body) -> requests.Response:
    """Call the control API; keyword arguments become the JSON body."""
    return https.request(method, emulator.control_url + path, json=body or None, timeout=TIMEOUT)


def graph(
    https: requests.Session, emulator, token: str, path: str, method: str = "GET", **kwargs
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return https.request(
        method, emulator.graph_endpoint + path, headers=headers, timeout=TIMEOUT, **kwargs
    )


def signed_in(emulator, upn: str = PATTI, scopes: list[str] | None = None) -> dict:
    """MSAL's token response for a user signed in through the emulator's pages."""
    result = sign_in(make_app(emulator), scopes or BROAD, upn=upn)
    assert "access_token" in result, result
    return result
