"""The way through: every outcome is a page that says what happened and leads on.

Real Chromium against the real app and emulator processes, so the identity provider's
answer is a real cross-site form_post under real SameSite cookie rules.
"""

from __future__ import annotations

import contextlib
import re

from flows import DEMO_USER, answer_consent, pick_user, sign_in
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect


def consent_if_asked(page: Page) -> None:
    """Accept the emulator's consent page if the page just opened asked for a permission."""
    page.wait_for_load_state()
    if page.get_by_role("button", name="Accept").count():
        answer_consent(page)
        page.wait_for_load_state()


def expect_signed_in(page: Page) -> None:
    """The header is a signed-in user's: Sign out, and no Sign in."""
    header = page.get_by_role("banner")
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    expect(header.get_by_role("link", name="Sign in")).to_have_count(0)


def test_declining_a_permission_while_signed_in_still_shows_you_signed_in(page, app_server):
    sign_in(page, app_server.url)
    page.goto(app_server.url + "/files/")
    answer_consent(page, accept=False)  # Cancel on the identity provider's consent page
    expect(page.get_by_role("heading", name="You declined the permission")).to_be_visible()
    expect_signed_in(page)
    # The outcome came through a cookie, not the address bar.
    assert page.url == app_server.url + "/getAToken"
    expect(page.get_by_role("link", name="Try again")).to_be_visible()


def test_back_after_signing_in_says_you_are_already_signed_in(page, app_server):
    page.goto(app_server.url + "/graphcall")  # signs in first, then shows the profile
    page.get_by_role("button", name=DEMO_USER).first.click()
    answer_consent(page)
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()

    # Back once: the page that answered the consent form, which the browser would post
    # again only if asked ("Confirm Form Resubmission"). Back again: the identity
    # provider's account picker, from the same authorize request: picking the account
    # answers once more with that sign-in's state, which is used up.
    with contextlib.suppress(PlaywrightError):
        page.go_back()  # net::ERR_CACHE_MISS
    page.wait_for_url(re.compile("^chrome-error:"))
    page.go_back()
    pick_user(page)
    page.wait_for_url(app_server.url + "/getAToken")
    expect(page.get_by_role("heading", name="You are already signed in")).to_be_visible()
    expect(page.get_by_text("more than 10 minutes")).to_have_count(0)
    expect_signed_in(page)
    page.get_by_role("link", name="Continue to the page you were opening").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()


def test_opening_the_redirect_uri_while_signed_in_says_so(page, app_server):
    sign_in(page, app_server.url)
    page.goto(app_server.url + "/getAToken")
    expect(page.get_by_role("heading", name="You are already signed in")).to_be_visible()
    page.get_by_role("link", name="Home").last.click()
    expect(page.get_by_role("heading", name="Welcome, Adele Vance")).to_be_visible()


def test_a_missing_folder_group_or_site_is_a_page_that_leads_back_to_its_list(page, app_server):
    sign_in(page, app_server.url)
    for url, heading, back, list_heading in [
        ("/files/No such folder", "Folder not found", "My files", "My files"),
        ("/groups/00000000-0000-0000-0000-000000000000", "Group not found", "Your groups", None),
        ("/sites/contosodemo.sharepoint.com,1,2", "Site not found", "Sites", "SharePoint sites"),
    ]:
        page.goto(app_server.url + url)
        consent_if_asked(page)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.get_by_role("link", name="Try again")).to_have_count(0)
        expect_signed_in(page)
        page.get_by_role("main").get_by_role("link", name=back).click()
        consent_if_asked(page)
        if list_heading:
            expect(page.get_by_role("heading", name=list_heading)).to_be_visible()
        else:
            expect(page.get_by_role("heading", name="Your groups")).to_be_visible()


def test_after_sign_out_the_home_page_says_you_are_signed_out(page, app_server):
    sign_in(page, app_server.url)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(app_server.url + "/")
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.reload()  # said once, right after signing out
    expect(page.get_by_role("status")).to_have_count(0)


def test_people_pages_go_forward_and_back_with_a_page_number(page, app_server):
    sign_in(page, app_server.url)
    page.goto(app_server.url + "/people")
    consent_if_asked(page)
    pager = page.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text("Page 1")
    first_names = page.get_by_role("main").locator("li strong").all_inner_texts()

    pager.get_by_role("link", name="Next").click()
    expect(pager).to_contain_text("Page 2")
    assert "graph" not in page.url.lower() and "skiptoken" not in page.url.lower()
    second_names = page.get_by_role("main").locator("li strong").all_inner_texts()
    assert second_names and not set(second_names) & set(first_names)
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)  # 14 people: two pages

    pager.get_by_role("link", name="Previous").click()
    expect(pager).to_contain_text("Page 1")
    assert page.get_by_role("main").locator("li strong").all_inner_texts() == first_names


def test_a_sites_document_library_can_be_browsed_and_its_files_downloaded(page, app_server):
    sign_in(page, app_server.url)
    page.goto(app_server.url + "/sites")
    consent_if_asked(page)
    page.get_by_role("link", name="Marketing").first.click()
    page.get_by_role("link", name="Documents").click()
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    page.get_by_role("link", name="Campaigns", exact=True).click()
    crumbs = page.get_by_role("navigation", name="Folder path")
    expect(crumbs).to_contain_text("Documents")
    expect(crumbs).to_contain_text("Campaigns")
    row = page.get_by_role("row", name=re.compile("Spring campaign brief.docx"))
    with page.expect_download() as download:
        row.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "Spring campaign brief.docx"
    crumbs.get_by_role("link", name="Documents").click()
    expect(page.get_by_role("link", name="Campaigns", exact=True)).to_be_visible()


def test_file_search_shows_where_files_live_opens_folders_and_downloads_files(page, app_server):
    sign_in(page, app_server.url)
    page.goto(app_server.url + "/search")
    consent_if_asked(page)
    page.get_by_role("searchbox").fill("campaign")
    page.get_by_role("button", name="Search").click()
    brief = page.get_by_role("row", name=re.compile("Spring campaign brief.docx"))
    expect(brief).to_contain_text("In marketing › Shared Documents › Campaigns")
    with page.expect_download() as download:
        brief.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "Spring campaign brief.docx"

    page.get_by_role("link", name="Campaigns", exact=True).click()  # a folder, opened here
    consent_if_asked(page)
    expect(page.get_by_role("navigation", name="Folder path")).to_contain_text("Campaigns")
    expect(page.get_by_text("Brand guidelines.pdf")).to_be_visible()
