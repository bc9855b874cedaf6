"""What the real service does to a signed-in user: CAE challenges and MFA step-up."""

from __future__ import annotations

import re
import time

from flows import answer_consent, pick_user, sign_in
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


def test_a_personal_account_gets_profile_and_onedrive_and_a_plain_page_elsewhere(page, app_server):
    sign_in(page, app_server.url, user="Kai Carter")
    expect(page.get_by_role("heading", name="Welcome, Kai Carter")).to_be_visible()
    page.goto(app_server.url + "/graphcall")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    page.goto(app_server.url + "/files/")
    answer_consent(page)  # Files.Read, which personal accounts can grant
    expect(page.get_by_role("heading", name="My files")).to_be_visible()
    for path in ("/people", "/groups", "/search", "/sites"):
        page.goto(app_server.url + path)
        expect(
            page.get_by_role("heading", name="Not available for personal Microsoft accounts")
        ).to_be_visible()


def test_an_admin_only_permission_is_explained_and_an_admins_consent_opens_it(
    page, chromium, app_server
):
    sign_in(page, app_server.url, user="Grady Archie")
    page.goto(app_server.url + "/groups")
    expect(page.get_by_role("heading", name="Need admin approval")).to_be_visible()
    page.get_by_role("button", name="Back to app").click()
    expect(
        page.get_by_role("heading", name="An administrator must approve this permission")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_have_count(0)
    link = page.get_by_role(
        "link", name=re.compile(r"grant th(is permission|ese permissions) for the organization")
    )
    admin_consent_url = link.get_attribute("href")

    # The administrator follows the link in their own browser and grants it for everyone.
    admin = chromium.new_context()
    try:
        admin_page = admin.new_page()
        admin_page.goto(admin_consent_url)
        pick_user(admin_page, "Adele Vance")
        answer_consent(admin_page)
        expect(admin_page).to_have_url(re.compile("^" + re.escape(app_server.url) + "/"))
    finally:
        admin.close()

    page.goto(app_server.url + "/groups")
    expect(page.get_by_role("heading", name="Your groups")).to_be_visible()


def test_a_guest_on_people_is_told_why_not(page, app_server):
    sign_in(page, app_server.url, user="Ellis Moreau")
    page.goto(app_server.url + "/people")
    answer_consent(page)  # User.ReadBasic.All: consented, and still refused for a guest
    expect(page.get_by_role("heading", name="Not available to your account")).to_be_visible()


def test_a_user_without_a_onedrive_is_told_so(page, app_server):
    sign_in(page, app_server.url, user="Lee Gu")
    page.goto(app_server.url + "/files/")
    answer_consent(page)
    expect(page.get_by_role("heading", name="You don't have a OneDrive")).to_be_visible()
