"""A person signs in, reads their profile and signs out, in a real browser."""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qsl

from flows import DEMO_USER, IDP_PAGE, answer_consent, pick_user, sign_in
from playwright.sync_api import expect


def test_sign_in_consent_profile_and_sign_out(page, app_server, emulator_process):
    page.goto(app_server.url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    pick_user(page)
    expect(page.get_by_text("(User.Read)", exact=True)).to_be_visible()
    answer_consent(page)

    # Back on the app (another site): the cross-site form_post was accepted.
    expect(page).to_have_url(app_server.url + "/")
    expect(page.get_by_role("heading", name=f"Welcome, {DEMO_USER}")).to_be_visible()

    page.get_by_role("link", name="Profile").first.click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.get_by_text("Retail Manager")).to_be_visible()
    photo = page.get_by_role("img", name=f"Photo of {DEMO_USER}")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") > 0

    before = emulator_process.counters()["logout"]
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(app_server.url + "/")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    assert emulator_process.counters()["logout"] == before + 1
    page.goto(app_server.url + "/graphcall")
    expect(page).to_have_url(IDP_PAGE)  # sign in again


def test_session_cookie_is_lax_and_flow_binding_is_one_cookie(page, app_server):
    sign_in(page, app_server.url)
    cookies = {c["name"]: c for c in page.context.cookies(app_server.url)}
    assert cookies["session"]["sameSite"] == "Lax"
    assert cookies["session"]["httpOnly"]
    assert cookies["auth_flow"]["sameSite"] == "None" and cookies["auth_flow"]["secure"]
    assert sorted(cookies) == ["auth_flow", "auth_flow_legacy", "session"]


def test_cancel_at_consent_shows_a_friendly_error(page, app_server):
    sign_in(page, app_server.url, accept=False)
    expect(page.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
    expect(page.get_by_text("AADSTS65004")).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_be_visible()


def test_expired_access_token_is_refreshed_silently(page, app_server, emulator_process):
    # MSAL refreshes a token with under five minutes left: 301 s is stale within a second.
    emulator_process.control("POST", "/settings", access_token_lifetime=301)
    try:
        sign_in(page, app_server.url)
        time.sleep(1.5)
        before = emulator_process.counters()["token"]
        page.goto(app_server.url + "/graphcall")
        expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
        assert emulator_process.counters()["token"] > before
    finally:
        emulator_process.control("POST", "/settings", access_token_lifetime=3600)


def test_revoked_refresh_token_leads_back_through_sign_in(page, app_server, emulator_process):
    emulator_process.control("POST", "/settings", access_token_lifetime=301)
    try:
        sign_in(page, app_server.url, user="Megan Bowen")
        time.sleep(1.5)
        emulator_process.control("POST", "/revoke", user="megan@contoso.example")
        before = emulator_process.counters()["authorize"]
        page.goto(app_server.url + "/graphcall")
        # Signed in again as the same user (login_hint, IdP session): no account picker.
        expect(page).to_have_url(app_server.url + "/graphcall")
        expect(page.get_by_text("Marketing Manager")).to_be_visible()
        assert emulator_process.counters()["authorize"] == before + 1
    finally:
        emulator_process.control("POST", "/settings", access_token_lifetime=3600)


def test_oidc_authority_under_gunicorn_with_redis_sessions(page, oidc_app_server):
    sign_in(page, oidc_app_server.url, user="Zoë Ðorđević")
    expect(page.get_by_role("heading", name="Welcome, Zoë Ðorđević")).to_be_visible()
    # Two gunicorn workers share the Redis session store: every page stays signed in.
    for _ in range(4):
        page.goto(oidc_app_server.url + "/graphcall")
        expect(page.get_by_text("Senior Software Engineer")).to_be_visible()


def test_a_sign_in_response_replayed_in_another_browser_is_refused(page, chromium, app_server):
    """Login CSRF: an attacker's code, posted from their page into a victim's browser."""
    # The attacker signs in but stops their own browser before the response lands.
    page.route("**/getAToken", lambda route: route.abort())
    page.goto(app_server.url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    pick_user(page)
    with page.expect_request("**/getAToken") as callback:
        answer_consent(page)
    fields = callback.value.post_data
    assert "code=" in fields

    victim = chromium.new_context()
    try:
        victim_page = victim.new_page()
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in parse_qsl(fields)
        )
        victim_page.set_content(
            f'<form method="post" action="{app_server.url}/getAToken">{inputs}</form>'
        )
        with victim_page.expect_navigation():
            victim_page.evaluate("document.forms[0].submit()")
        expect(
            victim_page.get_by_role("heading", name="This sign-in was started elsewhere")
        ).to_be_visible()
        victim_page.goto(app_server.url + "/")
        expect(victim_page.get_by_role("link", name="Sign in").first).to_be_visible()
    finally:
        victim.close()


def test_token_rejected_by_graph_is_renewed_without_asking_the_user(
    page, app_server, emulator_process
):
    sign_in(page, app_server.url, user="Nestor Wilke")
    emulator_process.control("POST", "/expire-tokens")
    before = emulator_process.counters()
    page.goto(app_server.url + "/graphcall")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    after = emulator_process.counters()
    assert after["token"] == before["token"] + 1  # one refresh
    assert after["authorize"] == before["authorize"]  # no trip to the sign-in pages
