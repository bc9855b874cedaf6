"""Signing out clears the app's session and ends the Microsoft session too."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt


def test_logout_goes_to_the_end_session_endpoint_with_hint_and_return_address(
    signed_in_client, emulator, token_endpoint
):
    response = signed_in_client.get("/logout")
    assert response.status_code == 302
    url = urlsplit(response.headers["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        f"https://login.microsoftonline.com/{emulator.tenant_id}/oauth2/v2.0/logout"
    )
    query = parse_qs(url.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/"]
    (redeemed,) = token_endpoint.calls()
    id_token = jwt.decode(redeemed.answer["id_token"], options={"verify_signature": False})
    assert query["logout_hint"] == [id_token["login_hint"]]
    assert "post_logout_redirect_uri=http%3A%2F%2Flocalhost%2F" in url.query


def test_after_logout_pages_need_sign_in_again(signed_in_client):
    signed_in_client.get("/logout")
    assert "Sign in" in signed_in_client.get("/").get_data(as_text=True)
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?")
