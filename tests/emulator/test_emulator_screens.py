"""The emulator's pages as a person sees them: headless Chromium at a laptop's and a phone's
size, screenshots in test-artifacts/screens/emulator-*.png.

What is checked is what a person would notice: nothing wider than the screen, the consent
page's two buttons alike in size and shape but not in colour, the favicon there.
"""

from __future__ import annotations

from pathlib import Path

import msal
import pytest
from emulator_helpers import REDIRECT_URI
from playwright.sync_api import Page, sync_playwright

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, chromium):
    context = chromium.new_context(viewport=VIEWPORTS[request.param])
    page = context.new_page()
    page.viewport_name = request.param
    yield page
    context.close()


def _auth_uri(emulator, scopes) -> str:
    app = msal.ConfidentialClientApplication(
        emulator.client_id,
        client_credential=emulator.client_secret,
        authority=emulator.authority,
        instance_discovery=False,
        http_client=emulator.trusting_session(),
    )
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, response_mode="form_post")
    return flow["auth_uri"]


def _screenshot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"emulator-{name}-{page.viewport_name}.png", full_page=True)


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


def test_sign_in_and_consent_pages_fit_and_their_buttons_match(page, entra_emulator):
    page.goto(_auth_uri(entra_emulator, ["User.Read", "Files.Read"]))
    assert page.get_by_role("heading", name="Pick an account").is_visible()
    assert _fits_the_screen(page)
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    _screenshot(page, "signin")

    page.get_by_role("button", name="Megan Bowen").click()
    assert page.get_by_role("heading", name="Permissions requested").is_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "consent")
    cancel, accept = _box_and_look(page, "Cancel"), _box_and_look(page, "Accept")
    assert cancel["height"] == accept["height"] >= 32
    assert cancel["radius"] == accept["radius"] and cancel["font"] == accept["font"]
    assert cancel["background"] != accept["background"]


def test_approval_page_fits(page, entra_emulator):
    page.goto(_auth_uri(entra_emulator, ["User.Read", "Directory.Read.All"]))
    page.get_by_role("button", name="Megan Bowen").click()
    assert page.get_by_role("heading", name="Need admin approval").is_visible()
    assert _fits_the_screen(page)
    assert _box_and_look(page, "Back to app")["height"] >= 32
    _screenshot(page, "approval")


def test_sharepoint_and_onedrive_stand_ins_fit(page, entra_emulator):
    base = entra_emulator.browser_base
    page.goto(f"{base}/sites/marketing")
    assert page.get_by_role("heading", name="Marketing").is_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "site")
    page.get_by_role("link", name="Documents").click()
    page.get_by_role("link", name="Campaigns").click()
    assert page.get_by_role("heading", name="Campaigns").is_visible()
    _screenshot(page, "folder")
    page.goto(f"{base}/personal/adele_contoso_example/Documents/Documents/Quarterly report Q3.docx")
    assert page.get_by_role("heading", name="Quarterly report Q3.docx").is_visible()
    assert _fits_the_screen(page)
    _screenshot(page, "file")
    page.goto(f"{base}/sites/nowhere")
    assert page.get_by_role("heading", name="This page isn't here").is_visible()
    _screenshot(page, "not-found")
