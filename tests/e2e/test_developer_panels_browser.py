"""For developers, in a real browser: the "How this page works" panel and Token claims.

Its own app (DEVELOPER_PANELS=true, as the demo runs) and emulator, whose redirect URIs
name that app's port. Screenshots at desktop and phone sizes go to test-artifacts/e2e/.
"""

from __future__ import annotations

import pytest
from entra_emulator.net import free_port
from flows import answer_consent, sign_in
from playwright.sync_api import Page, expect
from processes import App, EmulatorProcess, app_env

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def developer_app(tmp_path_factory, artifacts):
    """The app with developer panels on, and an emulator of its own."""
    port = free_port()
    emulator = EmulatorProcess(
        tmp_path_factory.mktemp("developer_emulator"),
        [f"http://localhost:{port}/getAToken", f"http://localhost:{port}/"],
        artifacts / "developer_emulator.log",
    )
    env = app_env(emulator, tmp_path_factory.mktemp("developer_app"))
    app = App(port, env | {"DEVELOPER_PANELS": "true"}, artifacts / "developer_app.log")
    yield app, emulator
    app.stop()
    emulator.stop()


@pytest.fixture
def developer_page(chromium, request, artifacts, developer_app) -> Page:
    # A new visitor each time: fresh cookies, nothing consented, no faults.
    _, emulator = developer_app
    emulator.control("POST", "/consent/reset")
    emulator.control("DELETE", "/faults")
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    # What the CSP refused (an inline script or style), as the console reports it.
    page.csp_refusals = []
    page.on("console", lambda m: "Refused to" in m.text and page.csp_refusals.append(m.text))
    yield page
    if getattr(request.node, "failed_call", False):
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()


def screenshots(page: Page, artifacts, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(artifacts / f"developer-{name}-{size}.png"), full_page=True)


def open_panel(page: Page):
    panel = page.locator("details.how-it-works")
    panel.get_by_text("How this page works").click()
    expect(panel).to_have_attribute("open", "")
    return panel


def test_a_retried_graph_call_and_a_search_in_the_panel(developer_page, developer_app, artifacts):
    app, emulator = developer_app
    page = developer_page
    sign_in(page, app.url)
    # Graph answers the profile's first attempt with 503: urllib3 retries it.
    emulator.control("POST", "/faults", status=503, count=1)

    page.goto(app.url + "/graphcall")
    panel = open_panel(page)

    (call,) = panel.locator(".graph-calls > li").all()
    expect(call).to_contain_text("GET /me?$select=")
    expect(call.locator("dd").nth(0)).to_have_text("200")
    expect(call).to_contain_text("1, after 503")
    expect(call.get_by_role("link", name="Get user")).to_have_attribute(
        "href", "https://learn.microsoft.com/graph/api/user-get?view=graph-rest-1.0"
    )
    screenshots(page, artifacts, "profile-panel")

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(app.url + "/people")
    answer_consent(page)
    page.get_by_role("searchbox").fill("<b>zo</b>")
    page.get_by_role("button", name="Search").click()
    call = open_panel(page).locator(".graph-calls > li")
    expect(call).to_have_count(1)
    expect(call).to_contain_text('$search="displayName:<b>zo</b>" OR "mail:<b>zo</b>"')
    expect(call.get_by_role("link", name="List users")).to_be_visible()
    screenshots(page, artifacts, "people-panel")
    assert page.csp_refusals == []


def test_token_claims_from_the_footer(developer_page, developer_app, artifacts):
    app, _ = developer_app
    page = developer_page
    sign_in(page, app.url)

    page.get_by_role("contentinfo").get_by_role("link", name="Token claims").click()

    expect(page.get_by_role("heading", name="Token claims")).to_be_visible()
    username = page.get_by_role("row", name="preferred_username")
    expect(username).to_contain_text("adele@contoso.example")
    expires = page.locator("tr", has=page.get_by_role("rowheader", name="exp", exact=True))
    expect(expires).to_contain_text("UTC")
    expect(page.locator("details.how-it-works")).to_have_count(0)
    screenshots(page, artifacts, "token-claims")
    assert page.csp_refusals == []
