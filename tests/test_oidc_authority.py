"""OIDC_AUTHORITY: Entra External ID (CIAM) or any OpenID Connect issuer."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fake_idp import FakeIdP

OIDC = "https://contoso.ciamlogin.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0"


@pytest.fixture
def idp(http_mock) -> FakeIdP:
    return FakeIdP(
        http_mock,
        base=OIDC.removesuffix("/v2.0"),
        issuer=OIDC,
        discovery_url=f"{OIDC}/.well-known/openid-configuration",
        oidc=True,
    ).install()


@pytest.fixture
def env(env):
    del env["TENANT_ID"]
    return env | {"OIDC_AUTHORITY": OIDC}


def test_sign_in_through_an_oidc_authority(fake_sign_in, http_mock):
    location = urlsplit(fake_sign_in.start())
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        OIDC.removesuffix("/v2.0") + "/oauth2/v2.0/authorize"
    )
    assert fake_sign_in().status_code == 303
    assert "Welcome, Adele Vance" in fake_sign_in.client.get("/").get_data(as_text=True)
    # No instance discovery against login.microsoftonline.com for an OIDC authority.
    assert not [c for c in http_mock.calls if "login.microsoftonline.com" in c.request.url]


def test_graph_token_is_found_again_for_an_oidc_account(fake_sign_in, http_mock):
    fake_sign_in()
    http_mock.get("https://graph.microsoft.com/v1.0/me", json={"displayName": "Adele Vance"})
    assert fake_sign_in.client.get("/graphcall").status_code == 200
