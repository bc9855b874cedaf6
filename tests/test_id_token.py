"""The ID token's claims are checked before any is trusted: MSAL checks only the nonce."""

from __future__ import annotations

import pytest
from app_helpers import ADELE

OTHER_TENANT = "0b2c6a2e-3f5d-4a71-9e1b-7c8d9e0f1a2b"


def signed_in(client) -> bool:
    return "Welcome," in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("variant", ["expired", "not_yet_valid", "wrong_audience", "wrong_issuer"])
def test_an_id_token_that_is_not_for_us_or_not_valid_now_ends_the_sign_in(
    client_sign_in, emulator, variant
):
    emulator.add_token_variant(variant, user=ADELE)
    response = client_sign_in()
    assert response.status_code == 400
    assert "Sign-in could not be verified" in response.get_data(as_text=True)
    assert not signed_in(client_sign_in.client)


def test_another_tenants_id_token_is_refused_when_a_tenant_is_configured(
    client_sign_in, token_endpoint
):
    # Its issuer matches its tid, as a real token of another tenant would.
    token_endpoint.tamper_id_tokens(
        {"tid": OTHER_TENANT, "iss": f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"}
    )
    response = client_sign_in()
    assert response.status_code == 400
    assert not signed_in(client_sign_in.client)


def test_a_failed_check_keeps_the_signed_in_user_as_they_were(
    signed_in_client, client_sign_in, emulator
):
    emulator.add_token_variant("wrong_audience", user=ADELE)
    assert client_sign_in().status_code == 400
    assert signed_in(signed_in_client)
