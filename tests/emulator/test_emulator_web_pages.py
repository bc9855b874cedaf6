"""The pages behind Graph's webUrls: every link the app shows leads to a page of the emulator.

Graph is called in-process (http_client()); the pages are fetched over the real plain-http
listener, without any Authorization header, as a browser following the app's link would.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import entra_emulator
import pytest
import requests
from emulator_helpers import REDIRECT_URI, TIMEOUT, inprocess_token
from markupsafe import escape
from PIL import Image  # the emulator's own dependency

PATTI = "patti@contoso.example"  # Global Administrator: may consent to Sites.Read.All herself
BROAD = ["User.Read", "Files.Read.All", "Sites.Read.All"]
NOT_FOUND = "<h1>This page isn't here</h1>"
HOSTILE_FILE = '<img src=x onerror=alert(1)> & "notes".txt'
HOSTILE_SITE = "Marketing <script>alert(2)</script>"


def _token(emulator, upn: str, scopes: list[str]) -> str:
    # common: work accounts and Kai Carter's personal one alike
    return inprocess_token(emulator, scopes, upn, emulator.common_authority)


class Graph:
    def __init__(self, emulator, token: str) -> None:
        self.emulator, self.token, self.http = emulator, token, emulator.http_client()

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        url = self.emulator.graph_endpoint + path
        return self.http.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, **params) -> dict:
        response = self.call("GET", path, params={"$top": "999", **params})
        assert response.status_code == 200, (path, response.text)
        return response.json()


def _page_text(name: str) -> str:
    """What a page must show of an item: its name as Jinja escapes it (pages drop .aspx)."""
    return str(escape(name.removesuffix(".aspx")))


def _tree(graph: Graph, children_path: str, item_path: str) -> list[tuple[str, str]]:
    """(webUrl, name) of every item under a folder, folders walked too."""
    found = []
    for item in graph.get(children_path)["value"]:
        found.append((item["webUrl"], item["name"]))
        if "folder" in item:
            found += _tree(graph, item_path.format(item["id"]) + "/children", item_path)
    return found


def _onedrive_urls(graph: Graph) -> list[tuple[str, str]]:
    response = graph.call("GET", "/me/drive")
    if response.status_code == 404:  # no OneDrive (a guest, Lee Gu)
        return []
    drive = response.json()
    owner = drive["owner"]["user"]["displayName"]
    return [
        (drive["webUrl"], owner),
        *_tree(graph, "/me/drive/root/children", "/me/drive/items/{}"),
    ]


def _site_urls(graph: Graph) -> list[tuple[str, str]]:
    found = []
    for site in graph.get("/sites", search="*")["value"]:
        found.append((site["webUrl"], site["displayName"]))
        for drive in graph.get(f"/sites/{site['id']}/drives")["value"]:
            found.append((drive["webUrl"], drive["name"]))
            items = f"/drives/{drive['id']}/items/{{}}"
            found += _tree(graph, f"/drives/{drive['id']}/root/children", items)
    return found


def _search_urls(graph: Graph, names: set[str]) -> list[tuple[str, str]]:
    words = {w for name in names for w in re.findall(r"[^\W_]+", name)} | {"Home"}
    found = []
    for word in sorted(words):
        body = {"requests": [{"entityTypes": ["driveItem"], "query": {"queryString": word}}]}
        answer = graph.call("POST", "/search/query", json=body).json()
        for hit in answer["value"][0]["hitsContainers"][0]["hits"]:
            found.append((hit["resource"]["webUrl"], hit["resource"]["name"]))
    return found


@pytest.fixture(scope="module")
def web_urls(entra_emulator_session) -> list[tuple[str, str]]:
    """(webUrl, name) of everything Graph links to in the demo tenant, every OneDrive too."""
    emulator = entra_emulator_session
    emulator.reset()
    patti = Graph(emulator, _token(emulator, PATTI, BROAD))
    found = _site_urls(patti)
    for user in emulator.users:
        token = (
            patti.token if user["upn"] == PATTI else _token(emulator, user["upn"], ["Files.Read"])
        )
        found += _onedrive_urls(Graph(emulator, token))
    found += _search_urls(patti, {name for _, name in found})
    return sorted(set(found))


@pytest.fixture
def browser():
    """A plain session over the real http listener: no emulator transport, no credentials."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


def test_every_web_url_graph_returns_is_a_page_on_the_http_listener(
    web_urls, entra_emulator_session, browser
):
    kinds = {urlsplit(url).path.split("/")[1] for url, _ in web_urls}
    assert {"sites", "personal", "redir", ""} <= kinds  # sites, OneDrives, personal OneDrive
    assert len(web_urls) > 100
    failures = []
    for url, name in web_urls:
        if not url.startswith(entra_emulator_session.browser_base + "/"):
            failures.append((url, "not on the http listener"))
            continue
        page = browser.get(url, timeout=TIMEOUT, allow_redirects=False)
        if page.status_code != 200 or _page_text(name) not in page.text:
            failures.append((url, page.status_code, name))
        elif not page.headers["Content-Type"].startswith("text/html"):
            failures.append((url, page.headers["Content-Type"]))
    assert failures == []


def test_web_urls_keep_sharepoint_and_onedrive_paths(web_urls, entra_emulator_session):
    base = entra_emulator_session.browser_base
    urls = {url for url, _ in web_urls}
    assert f"{base}/sites/marketing" in urls
    assert f"{base}/sites/marketing/Shared%20Documents/Event%20calendar.xlsx" in urls
    assert f"{base}/sites/marketing/Brand%20Assets/Logo.png" in urls
    assert f"{base}/sites/marketing/SitePages/Home.aspx" in urls
    assert f"{base}/personal/adele_contoso_example/Documents" in urls
    assert f"{base}/?cid=5a1c3f0e9b2d7c48" in urls  # Kai Carter's personal OneDrive


def _links(page_html: str) -> dict[str, str]:
    """Link text -> href, unescaped, as a person reads and follows them."""
    pairs = re.findall(r'<a href="([^"]*)">([^<]*)</a>', page_html)
    return {html.unescape(text): html.unescape(href) for href, text in pairs}


def test_a_file_page_says_what_sharepoint_would_and_leads_up_to_its_folder(
    entra_emulator_session, browser
):
    base = entra_emulator_session.browser_base
    folder = f"{base}/sites/marketing/Shared%20Documents/Campaigns"
    page = browser.get(f"{folder}/Spring%20campaign%20brief.docx", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "<h1>Spring campaign brief.docx</h1>" in page.text
    for fact in ("Word document", "Marketing Owners", "4 March 2024, 10:00 UTC", "37.3 KB"):
        assert fact in page.text
    links = _links(page.text)
    assert links["Up to Campaigns"] == folder
    assert links["Marketing"] == f"{base}/sites/marketing"
    assert links["Documents"] == f"{base}/sites/marketing/Shared%20Documents"


def test_a_site_page_lists_its_libraries_and_pages(entra_emulator_session, browser):
    base = entra_emulator_session.browser_base
    page = browser.get(f"{base}/sites/marketing", timeout=TIMEOUT)
    links = _links(page.text)
    assert links["Brand Assets"] == f"{base}/sites/marketing/Brand%20Assets"
    assert links["Spring campaign kickoff"] == (
        f"{base}/sites/marketing/SitePages/Spring%20campaign%20kickoff.aspx"
    )
    assert "Campaigns, brand and events" in page.text


def test_a_onedrive_page_names_its_owner_and_lists_the_files(entra_emulator_session, browser):
    base = entra_emulator_session.browser_base
    page = browser.get(f"{base}/personal/zoe_contoso_example/Documents", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "OneDrive" in page.text and "Zoë Ðorđević" in page.text
    assert _links(page.text)["Welcome to OneDrive.txt"] == (
        f"{base}/personal/zoe_contoso_example/Documents/Welcome%20to%20OneDrive.txt"
    )


def test_addresses_are_matched_as_sharepoint_does(entra_emulator_session, browser):
    """Case-blind, with or without a trailing slash, spaces encoded or not."""
    base = entra_emulator_session.browser_base
    for path in ("/sites/MARKETING/", "/sites/marketing/shared documents/campaigns"):
        assert browser.get(base + path, timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/sites/nowhere",
        "/sites/marketing/Shared%20Documents/missing.docx",
        "/sites/marketing/Documents",  # the library lives at Shared Documents
        "/personal/nobody_contoso_example/Documents",
        "/personal/lee_contoso_example/Documents",  # Lee Gu has no OneDrive
        "/redir?resid=01NOSUCHITEM",
        "/?cid=0000000000000000",
        "/no/such/page",
    ],
)
def test_unknown_addresses_are_a_404_page(entra_emulator_session, browser, path):
    page = browser.get(entra_emulator_session.browser_base + path, timeout=TIMEOUT)
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert NOT_FOUND in page.text
    assert "Traceback" not in page.text


def test_the_http_listener_has_a_favicon(entra_emulator_session, browser):
    icon = browser.get(entra_emulator_session.browser_base + "/favicon.ico", timeout=TIMEOUT)
    assert icon.status_code == 200
    assert icon.headers["Content-Type"] == "image/vnd.microsoft.icon"
    with Image.open(io.BytesIO(icon.content)) as image:
        assert image.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48)} <= image.info["sizes"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An in-process emulator whose tenant has a site and a file with markup in their names."""
    data = json.loads(Path(entra_emulator.__file__).with_name("tenant.json").read_text("utf-8"))
    site = next(s for s in data["sites"] if s["name"] == "marketing")
    site["displayName"] = HOSTILE_SITE
    site["libraries"][0]["items"].append({"name": HOSTILE_FILE, "size": 10})
    path = tmp_path_factory.mktemp("tenant") / "tenant.json"
    path.write_text(json.dumps(data), "utf-8")
    with entra_emulator.start(listen=False, data_file=path, redirect_uris=[REDIRECT_URI]) as emu:
        yield emu


def test_names_are_escaped_on_the_pages(hostile):
    graph = Graph(hostile, _token(hostile, PATTI, BROAD))
    (site,) = graph.get("/sites", search="Marketing")["value"]
    library = graph.get(f"/sites/{site['id']}/drives")["value"][0]
    items = graph.get(f"/drives/{library['id']}/root/children")["value"]
    item = next(i for i in items if i["name"] == HOSTILE_FILE)
    assert item["webUrl"].endswith("/Shared%20Documents/" + quote(HOSTILE_FILE))

    browser = hostile.http_client()
    for url in (site["webUrl"], library["webUrl"], item["webUrl"]):
        page = browser.get(url, timeout=TIMEOUT)
        assert page.status_code == 200, url
        assert "<script>" not in page.text and "<img src=x" not in page.text
        assert str(escape(HOSTILE_SITE)) in page.text
    assert str(escape(HOSTILE_FILE)) in page.text


def test_in_process_web_urls_name_the_real_hosts_and_are_answered(emulator):
    """Without listeners the emulator answers as SharePoint and OneDrive do themselves."""
    graph = Graph(emulator, _token(emulator, PATTI, BROAD))
    drive = graph.get("/me/drive")
    (site,) = graph.get("/sites", search="Finance")["value"]
    assert (
        drive["webUrl"]
        == "https://contosodemo-my.sharepoint.com/personal/patti_contoso_example/Documents"
    )
    assert site["webUrl"] == "https://contosodemo.sharepoint.com/sites/finance"
    browser = emulator.http_client()
    for url in (drive["webUrl"], site["webUrl"]):
        assert browser.get(url, timeout=TIMEOUT).status_code == 200
    nowhere = browser.get("https://contosodemo.sharepoint.com/sites/nowhere", timeout=TIMEOUT)
    assert nowhere.status_code == 404
