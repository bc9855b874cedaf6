"""Every Graph page renders the demo tenant's data in a real browser."""

from __future__ import annotations

from flows import answer_consent, sign_in
from playwright.sync_api import expect


def open_page(page, app_url: str, nav_label: str) -> None:
    """Open a page from the navigation, consenting to its permission if asked."""
    page.goto(app_url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name=nav_label).click()
    page.wait_for_load_state()
    if page.get_by_role("button", name="Accept").count():
        answer_consent(page)


def test_each_page_asks_for_its_permission_once_and_shows_demo_data(page, app_server):
    sign_in(page, app_server.url)

    open_page(page, app_server.url, "People")
    expect(page.get_by_text("Alex Wilber")).to_be_visible()
    page.get_by_role("searchbox").fill("zo")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Zoë Ðorđević")).to_be_visible()
    expect(page.get_by_text("Alex Wilber")).to_have_count(0)

    open_page(page, app_server.url, "Groups")
    page.get_by_role("link", name="All Company").click()
    expect(page.get_by_role("heading", name="All Company")).to_be_visible()
    expect(page.get_by_text("Adele Vance").first).to_be_visible()

    open_page(page, app_server.url, "Directory")
    expect(page.get_by_text("contoso.example").first).to_be_visible()
    expect(page.get_by_text("Global Reader")).to_be_visible()

    open_page(page, app_server.url, "My files")
    page.get_by_role("link", name="Documents").click()
    expect(page.get_by_text("Quarterly report Q3.docx")).to_be_visible()
    page.get_by_role("link", name="Projects").click()
    crumbs = page.get_by_role("navigation", name="Folder path")
    expect(crumbs).to_contain_text("My files")
    expect(crumbs).to_contain_text("Documents")
    with page.expect_download() as download:
        page.go_back()
        page.get_by_role("row", name="Quarterly report Q3.docx").get_by_role(
            "link", name="Download"
        ).click()
    assert download.value.suggested_filename == "Quarterly report Q3.docx"

    open_page(page, app_server.url, "File search")
    page.get_by_role("searchbox").fill("campaign")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Spring campaign brief.docx")).to_be_visible()

    open_page(page, app_server.url, "Sites")
    page.get_by_role("link", name="Marketing").click()
    expect(page.get_by_role("heading", name="Document libraries")).to_be_visible()
    expect(page.get_by_text("Documents").first).to_be_visible()

    # Every permission was consented once: the pages open without asking again.
    for label in ("People", "Groups", "My files", "Sites"):
        open_page(page, app_server.url, label)
        assert "127.0.0.1" not in page.url


def test_throttled_graph_call_is_retried_and_the_page_renders(page, app_server, emulator_process):
    sign_in(page, app_server.url)
    emulator_process.control("POST", "/counters/reset")
    emulator_process.control("POST", "/faults", status=429, count=1, retry_after=1)
    page.goto(app_server.url + "/graphcall")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    assert emulator_process.counters()["graph_paths"].get("/v1.0/me") == 2


def test_graph_busy_beyond_the_retry_cap_says_so(page, app_server, emulator_process):
    sign_in(page, app_server.url)
    emulator_process.control("POST", "/faults", status=429, count=5, retry_after=30)
    response = page.goto(app_server.url + "/graphcall")
    assert response.status == 503
    assert response.headers["retry-after"] == "30"
    expect(page.get_by_role("heading", name="Microsoft Graph is busy")).to_be_visible()
    emulator_process.control("DELETE", "/faults")
