"""OIDC_AUTHORITY: Entra External ID (CIAM) or any OpenID Connect issuer.

The emulator's generic OIDC issuer (login.microsoftonline.com/oidc in-process) plays it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest


@pytest.fixture
def env(env, emulator_session):
    del env["TENANT_ID"]
    return env | {"OIDC_AUTHORITY": emulator_session.oidc_authority}


def test_sign_in_through_an_oidc_authority(client_sign_in, emulator, http_mock):
    location = urlsplit(client_sign_in.start())
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        emulator.oidc_authority + "/authorize"
    )
    assert client_sign_in().status_code == 303
    assert "Welcome, Adele Vance" in client_sign_in.client.get("/").get_data(as_text=True)
    # The issuer's own discovery document, no instance or tenant discovery as for Entra:
    # once for MSAL, once for the app's sign-out (MSAL keeps no end_session_endpoint).
    fetched = [c.request.url for c in http_mock.calls if c.request.method == "GET"]
    assert fetched == [f"{emulator.oidc_authority}/.well-known/openid-configuration"] * 2


def test_graph_token_is_found_again_for_an_oidc_account(client_sign_in, http_mock):
    client_sign_in()
    http_mock.get("https://graph.microsoft.com/v1.0/me", json={"displayName": "Adele Vance"})
    assert client_sign_in.client.get("/graphcall").status_code == 200
