"""Signing out: a confirmed POST, the app's session cleared, the Microsoft session ended too."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import responses
from app_helpers import LOGIN, SignIn, sign_out, sign_out_form_token

from app import create_app


def signed_in(client) -> bool:
    return "Welcome, Adele Vance" in client.get("/").get_data(as_text=True)


def test_signing_out_goes_to_the_end_session_endpoint_with_hint_and_return_address(
    signed_in_client, emulator, token_endpoint
):
    response = sign_out(signed_in_client)
    assert response.status_code == 303
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


def test_after_signing_out_pages_need_sign_in_again_and_home_says_so(signed_in_client):
    sign_out(signed_in_client)
    # The identity provider sends the browser back to the home page.
    home = signed_in_client.get("/").get_data(as_text=True)
    assert "You are signed out" in home and "Sign in" in home
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?")
    assert "You are signed out" not in signed_in_client.get("/").get_data(as_text=True)


def test_a_get_to_logout_only_asks_for_confirmation(signed_in_client):
    """Another site's link or image cannot sign the user out (logout CSRF)."""
    response = signed_in_client.get("/logout")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form method="post"' in page and "Sign out" in page
    assert signed_in(signed_in_client)


def test_a_sign_out_post_without_the_pages_token_is_refused(signed_in_client):
    for data in ({}, {"csrf_token": "forged"}):
        response = signed_in_client.post("/logout", data=data)
        assert response.status_code == 400
        assert signed_in(signed_in_client)


def test_the_return_address_comes_from_configuration_not_the_request(env, emulator):
    env["REDIRECT_URI"] = "https://app.example/getAToken"
    emulator.register_client(env["CLIENT_ID"], env["CLIENT_SECRET"], [env["REDIRECT_URI"]])
    sign_in = SignIn(create_app(env).test_client(), emulator)
    assert sign_in().status_code == 303
    token = sign_out_form_token(sign_in.client)
    # A Host header the proxy passed through, with the browser's own session cookie.
    sign_in.client.set_cookie(
        "session", sign_in.client.get_cookie("session").value, domain="evil.example"
    )
    response = sign_in.client.post(
        "/logout", data={"csrf_token": token}, headers={"Host": "evil.example"}
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["post_logout_redirect_uri"] == ["https://app.example/"]


def test_without_an_end_session_endpoint_the_user_is_told_microsoft_still_knows_them(
    signed_in_client, env, http_mock
):
    # The app restarted (same sessions, same key) while the identity provider is down.
    http_mock.replace(responses.GET, LOGIN, status=503)
    restarted = create_app(env).test_client()
    restarted.set_cookie("session", signed_in_client.get_cookie("session").value)
    signed_in_client = restarted
    token = sign_out_form_token(signed_in_client)
    response = signed_in_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    home = signed_in_client.get("/").get_data(as_text=True)
    assert "You are signed out of this app" in home
    assert "signed in to your Microsoft account" in home
    assert not signed_in(signed_in_client)


def test_signed_in_pages_let_the_sign_out_form_lead_to_the_identity_provider(
    signed_in_client, client
):
    # Browsers hold the redirect after a form's POST to the page's form-action too.
    csp = signed_in_client.get("/").headers["Content-Security-Policy"]
    assert "form-action 'self' https://login.microsoftonline.com;" in csp
    sign_out(signed_in_client)
    assert "form-action 'self';" in signed_in_client.get("/").headers["Content-Security-Policy"]


def test_an_unreachable_identity_provider_is_asked_once_not_at_every_sign_out(
    signed_in_client, env, http_mock
):
    # Sign-outs must not queue behind a discovery fetch that keeps failing.
    down = http_mock.replace(responses.GET, LOGIN, status=503)
    restarted = create_app(env).test_client()
    restarted.set_cookie("session", signed_in_client.get_cookie("session").value)
    for _ in range(3):
        restarted.get("/")
        restarted.post("/logout", data={"csrf_token": "stale"})
    assert down.call_count == 1
