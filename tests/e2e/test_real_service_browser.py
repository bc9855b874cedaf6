"""What the real service does to a signed-in user: CAE challenges and MFA step-up."""

from __future__ import annotations

import time

from flows import sign_in
from playwright.sync_api import expect


def test_a_cae_challenge_right_after_sign_in_signs_in_again_with_the_claims_and_comes_back(
    page, app_server, emulator_process
):
    sign_in(page, app_server.url, user="Isaiah Langer")
    page.goto(app_server.url + "/graphcall")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    before = emulator_process.counters()["authorize"]
    # Graph now challenges Isaiah's tokens; only a sign-in carrying the claims answers it.
    emulator_process.control("POST", "/location-changed", user="isaiah@contoso.example")
    page.goto(app_server.url + "/graphcall")
    expect(page).to_have_url(app_server.url + "/graphcall")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    assert emulator_process.counters()["authorize"] == before + 1  # once, no loop


def test_mfa_step_up_on_refresh_signs_in_again_with_its_claims(page, app_server, emulator_process):
    emulator_process.control("POST", "/settings", access_token_lifetime=301)
    try:
        sign_in(page, app_server.url, user="Lidia Holloway")
        time.sleep(1.5)
        emulator_process.control("POST", "/require-mfa", user="lidia@contoso.example")
        before = emulator_process.counters()["authorize"]
        # The access token is due for refresh; the refresh now wants MFA.
        page.goto(app_server.url + "/graphcall")
        expect(page).to_have_url(app_server.url + "/graphcall")
        expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
        assert emulator_process.counters()["authorize"] == before + 1
    finally:
        emulator_process.control("POST", "/settings", access_token_lifetime=3600)
