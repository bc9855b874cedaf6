"""The emulator's pages as a person sees them: headless Chromium at a laptop's and a phone's
size, screenshots in test-artifacts/screens/emulator-*.png.

What is checked is what a person would notice: nothing wider than the screen, the consent
page's two buttons alike in size and shape but not in colour, the favicon there.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from emulator_helpers import REDIRECT_URI, inprocess_client
from playwright.sync_api import Page, expect, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=sorted(VIEWPORTS))
def in_chromium(request):
    """Run steps(page) in headless Chromium at one viewport, on a thread of its own:
    Playwright's sync API refuses a thread where another session (the e2e suite's) runs."""

    def run(steps):
        outcome = {}

        def browse():
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                    page = browser.new_page(viewport=VIEWPORTS[request.param])
                    try:
                        steps(page)
                    finally:
                        browser.close()
            except BaseException as error:  # re-raised in the test's own thread
                outcome["error"] = error

        worker = threading.Thread(target=browse, name="chromium")
        worker.start()
        worker.join(timeout=90)
        assert not worker.is_alive(), "Chromium did not finish within 90 s"
        if "error" in outcome:
            raise outcome["error"]

    return run


def _auth_uri(emulator, scopes) -> str:
    app = inprocess_client(emulator)  # discovery in-process; Chromium opens the page itself
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, response_mode="form_post")
    return flow["auth_uri"]


def _screenshot(page: Page, name: str) -> None:
    size = next(k for k, v in VIEWPORTS.items() if v["width"] == page.viewport_size["width"])
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"emulator-{name}-{size}.png", full_page=True)


def _fits_the_screen(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _box_and_look(page: Page, name: str) -> dict:
    button = page.get_by_role("button", name=name, exact=True)
    box = button.bounding_box()
    look = button.evaluate(
        "b => { const s = getComputedStyle(b); return {radius: s.borderRadius, "
        "background: s.backgroundColor, font: s.fontSize + ' ' + s.fontWeight}; }"
    )
    return {"height": box["height"], **look}


def test_sign_in_and_consent_pages_fit_and_their_buttons_match(in_chromium, entra_emulator):
    auth_uri = _auth_uri(entra_emulator, ["User.Read", "Files.Read"])
    in_chromium(lambda page: _walk_sign_in_and_consent(page, auth_uri))


def _walk_sign_in_and_consent(page: Page, auth_uri: str) -> None:
    page.goto(auth_uri)
    expect(page.get_by_role("heading", name="Pick an account")).to_be_visible()
    assert _fits_the_screen(page)
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    _screenshot(page, "signin")

    page.get_by_role("button", name="Megan Bowen").click()
    expect(page.get_by_role("heading", name="Permissions requested")).to_be_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "consent")
    cancel, accept = _box_and_look(page, "Cancel"), _box_and_look(page, "Accept")
    assert cancel["height"] == accept["height"] >= 32
    assert cancel["radius"] == accept["radius"] and cancel["font"] == accept["font"]
    assert cancel["background"] != accept["background"]


def test_approval_page_fits(in_chromium, entra_emulator):
    auth_uri = _auth_uri(entra_emulator, ["User.Read", "Directory.Read.All"])
    in_chromium(lambda page: _walk_approval(page, auth_uri))


def _walk_approval(page: Page, auth_uri: str) -> None:
    page.goto(auth_uri)
    page.get_by_role("button", name="Megan Bowen").click()
    expect(page.get_by_role("heading", name="Need admin approval")).to_be_visible()
    assert _fits_the_screen(page)
    assert _box_and_look(page, "Back to app")["height"] >= 32
    _screenshot(page, "approval")


def test_sharepoint_and_onedrive_stand_ins_fit(in_chromium, entra_emulator):
    in_chromium(lambda page: _walk_stand_ins(page, entra_emulator.browser_base))


def _walk_stand_ins(page: Page, base: str) -> None:
    page.goto(f"{base}/sites/marketing")
    expect(page.get_by_role("heading", name="Marketing")).to_be_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "site")
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    _screenshot(page, "folder")
    page.goto(f"{base}/personal/adele_contoso_example/Documents/Documents/Quarterly report Q3.docx")
    expect(page.get_by_role("heading", name="Quarterly report Q3.docx")).to_be_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "file")
    page.goto(f"{base}/sites/nowhere")
    expect(page.get_by_role("heading", name="This page isn't here")).to_be_visible()
    _screenshot(page, "not-found")
