"""What a person does in the browser, as small reusable steps."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

# The emulator serves its sign-in pages on 127.0.0.1, another site than the app.
IDP_PAGE = re.compile(r"^http://127\.0\.0\.1:\d+/")

DEMO_USER = "Adele Vance"


def sign_in(page: Page, app_url: str, user: str = DEMO_USER, *, accept: bool = True) -> None:
    """From the app's home page through the emulator's sign-in and consent pages."""
    page.goto(app_url + "/")
    page.get_by_role("link", name="Sign in").first.click()
    pick_user(page, user)
    answer_consent(page, accept=accept)
    # The emulator's form_post page submits itself back to the app.
    page.wait_for_url(re.compile("^" + re.escape(app_url) + "/"))


def pick_user(page: Page, user: str = DEMO_USER) -> None:
    expect(page).to_have_url(IDP_PAGE)
    page.get_by_role("button", name=user).first.click()


def answer_consent(page: Page, *, accept: bool = True) -> None:
    consent = page.get_by_role("button", name="Accept" if accept else "Cancel")
    consent.click()
