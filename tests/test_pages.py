"""The Graph pages: readable, one Graph call per view, escaped, and safe with hostile data.

Graph's answers are scripted GETs; a page that batches its requests sends them in one
POST /$batch, which tests/graph_batch.py answers from those same GETs.
"""

from __future__ import annotations

import secrets
import time
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from app_helpers import SignIn
from graph_batch import answer_batches_from_gets, batched, outbound
from responses import matchers

from app import create_app

GRAPH = "https://graph.microsoft.com/v1.0"
# A personal Microsoft account of the emulator's consumer tenant.
KAI = "kai.carter@outlook.example"

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
SITE_ID = "contoso.sharepoint.com,2c712604-1370-44e7-a1f5-426573fda80a,2d2244c3-251a-49ea"
# Another user as Graph returns them under User.ReadBasic.All: the basic profile only.
ADELE = {
    "id": "u-adele",
    "displayName": "Adele Vance",
    "givenName": "Adele",
    "surname": "Vance",
    "jobTitle": None,
    "department": None,
    "mail": "adele@contoso.example",
    "userPrincipalName": "adele@contoso.example",
}
HOSTILE_PERSON = {"id": "u-evil", "displayName": SCRIPT, "userPrincipalName": "evil@contoso"}
# People and a group's members: the basic profile, ten people a page.
PEOPLE_QUERY = {
    "$select": "id,displayName,givenName,surname,mail,userPrincipalName",
    "$top": "10",
}
# The delegated permissions the Graph pages ask for, one page group each.
PAGE_PERMISSIONS = (
    "User.ReadBasic.All",
    "Group.Read.All",
    "Directory.AccessAsUser.All",
    "Files.Read",
    "Files.Read.All",
    "Sites.Read.All",
)
GRAPH_UNAUTHORIZED = {
    "error": {"code": "InvalidAuthenticationToken", "message": "Lifetime validation failed."}
}
GRAPH_FORBIDDEN = {
    "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}
}


@pytest.fixture
def user(signed_in_client, emulator, http_mock):
    """A signed-in work-account user who has consented to every page's permission."""
    emulator.grant_consent("adele@contoso.example", PAGE_PERMISSIONS)
    answer_batches_from_gets(http_mock)
    return signed_in_client


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.targets += [value or "" for name, value in attrs if name in ("href", "src", "action")]


def link_targets(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.targets


def link_to(page: str, prefix: str) -> str:
    """The one link on the page whose target starts with `prefix`, as a browser reads it."""
    (found,) = [h for h in link_targets(page) if h.startswith(prefix)]
    return found


def assert_no_script_links(page: str) -> None:
    assert not [h for h in link_targets(page) if "javascript:" in unescape(h).lower()]


def graph_get(http_mock, path: str, body: dict, params: dict | None = None, **kwargs):
    match = [matchers.query_param_matcher(params)] if params is not None else []
    return http_mock.get(f"{GRAPH}{path}", json=body, match=match, **kwargs)


def one_view(client, http_mock, url: str):
    """Open `url` twice; return the second response and every outbound request it made."""
    client.get(url)  # warm-up: a token for the page's permission
    before = len(http_mock.calls)
    response = client.get(url)
    return response, outbound(http_mock.calls[before:])


def batched_paths(http_mock) -> list[str]:
    """What the last $batch carried, as "GET /v1.0/path" each."""
    return graph_paths(batched(http_mock.calls))[-2:]


def graph_paths(requests) -> list[str]:
    return [f"{r.method} {urlsplit(r.url).path}" for r in requests]


def no_graph_calls(http_mock) -> bool:
    return not [c for c in http_mock.calls if c.request.url.startswith(GRAPH)]


# -- People ------------------------------------------------------------------


def test_people_lists_names_and_mail_from_the_basic_profile_with_one_graph_call(user, http_mock):
    graph_get(
        http_mock,
        "/users",
        {"value": [ADELE, HOSTILE_PERSON]},
        params=PEOPLE_QUERY,
    )
    response, sent = one_view(user, http_mock, "/people")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Adele Vance" in page
    assert "None" not in page  # fields Graph withholds are left out, not printed
    assert 'href="mailto:adele@contoso.example"' in page
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert "Next" not in page and "Page 1" not in page  # one page: no pager
    assert graph_paths(sent) == ["GET /v1.0/users"]


def test_people_search_asks_graph_with_eventual_consistency(user, http_mock):
    call = graph_get(
        http_mock,
        "/users",
        {"value": [ADELE]},
        params={
            **PEOPLE_QUERY,
            "$search": '"displayName:ad ele" OR "mail:ad ele"',
        },
    )
    response, sent = one_view(user, http_mock, '/people?q=ad"ele')
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Adele Vance" in page
    assert 'value="ad&#34;ele"' in page  # the search box keeps what the user typed
    assert len(sent) == 1
    assert call.calls[-1].request.headers["ConsistencyLevel"] == "eventual"


def test_people_search_with_no_match_says_so(user, http_mock):
    graph_get(http_mock, "/users", {"value": []})
    response = user.get("/people?q=nobody")
    assert "No one matches “nobody”" in response.get_data(as_text=True)


def test_next_people_link_carries_an_opaque_cursor_and_follows_graphs_next_link(user, http_mock):
    next_link = f"{GRAPH}/users?$select=id&$top=10&$search=%22displayName:ad%22&$skiptoken=RFN-2"
    graph_get(
        http_mock,
        "/users",
        {"value": [ADELE], "@odata.nextLink": next_link},
        params={
            **PEOPLE_QUERY,
            "$search": '"displayName:ad" OR "mail:ad"',
        },
    )
    second = http_mock.get(next_link, json={"value": [{"id": "u2", "displayName": "Alex Wilber"}]})
    first_page = user.get("/people?q=ad").get_data(as_text=True)
    more = unescape(link_to(first_page, "/people?"))
    query = parse_qs(urlsplit(more).query)
    assert query.keys() == {"q", "cursor"} and query["q"] == ["ad"]
    assert "graph.microsoft.com" not in more and "skiptoken" not in more

    response, sent = one_view(user, http_mock, more)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Alex Wilber" in page and "Adele Vance" not in page
    assert "Page 2" in page
    assert [r.url for r in sent] == [next_link]
    assert second.calls[-1].request.headers["ConsistencyLevel"] == "eventual"
    assert unescape(link_to(page, "/people?")) == "/people?q=ad"  # Previous: the first page


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1.0/users",
        "https://graph.microsoft.com.evil.example/v1.0/users",
        "//evil.example/v1.0/users",
        "http://graph.microsoft.com/v1.0/users",
        "https://graph.microsoft.com/beta/users",
        "https://graph.microsoft.com/v1.0/../beta/users",
        "/me/messages",  # a Graph path of our choosing, not a next link
        "me/drive/root/children",
    ],
)
def test_tampered_more_link_is_refused_and_the_token_stays_home(user, http_mock, link):
    response = user.get("/people", query_string={"cursor": link})
    assert response.status_code == 400
    assert "page link is not valid" in response.get_data(as_text=True)
    assert not [c for c in http_mock.calls if "evil" in c.request.url]
    assert no_graph_calls(http_mock)


@pytest.mark.parametrize("url", ["/groups", "/groups/g-1", "/sites", "/files/", "/drives/d1/"])
def test_every_paged_page_refuses_a_page_link_to_another_host(user, http_mock, url):
    graph_get(http_mock, "/groups/g-1", {"displayName": "Sales"})
    graph_get(http_mock, "/drives/d1", {"id": "d1", "name": "Documents"})
    response = user.get(url, query_string={"cursor": "https://evil.example/v1.0/users"})
    assert response.status_code == 400
    assert not [c for c in http_mock.calls if "evil" in c.request.url]


def test_a_more_link_of_one_list_does_not_work_on_another(user, http_mock):
    groups_next = f"{GRAPH}/me/memberOf/microsoft.graph.group?$skiptoken=g2"
    graph_get(
        http_mock,
        "/me/memberOf/microsoft.graph.group",
        {"value": [{"id": "g-1", "displayName": "Sales"}], "@odata.nextLink": groups_next},
    )
    more = unescape(link_to(user.get("/groups").get_data(as_text=True), "/groups?"))
    cursor = parse_qs(urlsplit(more).query)["cursor"][0]
    before = len(http_mock.calls)
    response = user.get("/people", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert "page link is not valid" in response.get_data(as_text=True)
    assert len(http_mock.calls) == before


def people_in_pages(http_mock, pages: int, token_length: int = 4) -> list[str]:
    """/users in PAGES pages of one person each, Graph's next links as long as asked."""
    # Random, as Graph's are: they do not compress.
    links = [
        f"{GRAPH}/users?$select=id,displayName&$top=10&$skiptoken={secrets.token_hex(token_length)}"
        for _ in range(2, pages + 1)
    ]
    for n in range(1, pages + 1):
        body = {"value": [{"id": f"u{n}", "displayName": f"Person {n}"}]}
        if n < pages:
            body["@odata.nextLink"] = links[n - 1]
        if n == 1:
            graph_get(http_mock, "/users", body, params=PEOPLE_QUERY)
        else:
            http_mock.get(links[n - 2], json=body)
    return links


def pager_links(page: str) -> dict[str, str]:
    """The pager's links by their words (Previous, First page, Next), as a browser reads them."""

    class Pager(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.links: dict[str, str] = {}
            self._href: str | None = None

        def handle_starttag(self, tag, attrs):
            attributes = dict(attrs)
            if tag == "a" and attributes.get("rel") in ("prev", "next"):
                self._href = attributes["href"]

        def handle_data(self, data):
            if self._href is not None:
                self.links[data.strip()] = self._href
                self._href = None

    parser = Pager()
    parser.feed(page)
    return parser.links


def test_previous_and_next_walk_a_list_both_ways_one_graph_call_a_page(user, http_mock):
    links = people_in_pages(http_mock, 3)
    page = user.get("/people").get_data(as_text=True)
    assert "Page 1" in page and "Previous" not in pager_links(page)
    for number in (2, 3):
        page = user.get(pager_links(page)["Next"]).get_data(as_text=True)
        assert f"Page {number}" in page and f"Person {number}" in page
    assert "Next" not in pager_links(page)  # the last page

    before = len(http_mock.calls)
    previous = pager_links(page)["Previous"]
    assert "graph.microsoft.com" not in previous and "skiptoken" not in previous
    page = user.get(previous).get_data(as_text=True)
    assert "Page 2" in page and "Person 2" in page and "Person 3" not in page
    assert [c.request.url for c in http_mock.calls[before:]] == [links[0]]
    page = user.get(pager_links(page)["Previous"]).get_data(as_text=True)
    assert "Page 1" in page and "Person 1" in page
    assert pager_links(page).keys() == {"Next"}


def test_deep_pages_keep_their_links_short_and_lead_back_to_the_start(user, http_mock):
    # Graph's skip tokens can be long: only the latest pages' cursors fit in a link.
    people_in_pages(http_mock, 6, token_length=150)
    page = user.get("/people").get_data(as_text=True)
    for number in range(2, 7):
        link = pager_links(page)["Next"]
        assert len(link) < 1024  # fits /login's next, should the page need a new sign-in
        page = user.get(link).get_data(as_text=True)
        assert f"Page {number}" in page
    back = pager_links(page)
    assert "Previous" not in back
    assert unescape(back["First page"]) == "/people"


@pytest.mark.parametrize("cursor", ["0~abc", "2~", "1~abc", "2~a~b", "x~abc", "9999999~abc"])
def test_a_page_link_with_a_made_up_position_is_refused(user, http_mock, cursor):
    response = user.get("/people", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert "page link is not valid" in response.get_data(as_text=True)
    assert no_graph_calls(http_mock)


def test_a_more_link_from_before_pages_had_numbers_opens_page_two(user, http_mock):
    people_in_pages(http_mock, 3)
    next_link = unescape(pager_links(user.get("/people").get_data(as_text=True))["Next"])
    bare_cursor = parse_qs(urlsplit(next_link).query)["cursor"][0].split("~", 1)[1]
    response = user.get("/people", query_string={"cursor": bare_cursor})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Page 2" in page and "Person 2" in page


# -- Groups ------------------------------------------------------------------


def test_groups_link_to_their_members_with_one_graph_call(user, http_mock):
    groups = [
        {"id": "g-sales", "displayName": "Sales", "description": "Everyone selling"},
        {"id": "g-evil", "displayName": SCRIPT, "description": SCRIPT},
    ]
    graph_get(http_mock, "/me/memberOf/microsoft.graph.group", {"value": groups})
    response, sent = one_view(user, http_mock, "/groups")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sales" in page and "Everyone selling" in page
    assert "/groups/g-sales" in link_targets(page)
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert graph_paths(sent) == ["GET /v1.0/me/memberOf/microsoft.graph.group"]


def test_no_groups_says_so(user, http_mock):
    graph_get(http_mock, "/me/memberOf/microsoft.graph.group", {"value": []})
    assert "not a member of any group" in user.get("/groups").get_data(as_text=True)


def test_group_page_shows_its_name_and_members_with_one_graph_call(user, http_mock):
    graph_get(http_mock, "/groups/g-sales", {"displayName": "Sales <EMEA>"})
    graph_get(
        http_mock,
        "/groups/g-sales/members",
        {"value": [ADELE, HOSTILE_PERSON]},
        params=PEOPLE_QUERY,
    )
    response, sent = one_view(user, http_mock, "/groups/g-sales")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Sales &lt;EMEA&gt;</h1>" in page
    assert "Adele Vance" in page
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert graph_paths(sent) == ["POST /v1.0/$batch"]
    assert batched_paths(http_mock) == [
        "GET /v1.0/groups/g-sales",
        "GET /v1.0/groups/g-sales/members",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/groups/..",
        "/groups/%2e%2e",
        "/groups/%2E%2E",
        "/groups/..%2Fusers",
        "/groups/%2e%2e%5cusers",
        "/sites/..",
        "/sites/%2e%2e",
        "/sites/.",
        "/sites/x%3F%24expand%3Dall",
        "/files/..",
        "/files/%2e%2e/secret",
        "/files/a/./b",
        "/drives/../",
        "/drives/%2e%2e/",
        "/drives/d1/%2e%2e/x",
        "/drive-items/d1/..",
        "/drive-items/%2E%2E/i1",
    ],
)
def test_path_traversal_in_an_id_is_404_and_nothing_reaches_graph(user, http_mock, url):
    response = user.get(url)
    assert response.status_code == 404
    assert no_graph_calls(http_mock)


# -- Directory ---------------------------------------------------------------


def test_directory_shows_the_organization_and_my_roles_with_one_graph_call(user, http_mock):
    org = {
        "displayName": "Contoso <Ltd>",
        "verifiedDomains": [
            {"name": "contoso.example", "isDefault": True},
            {"name": "contoso.onmicrosoft.com", "isDefault": False},
        ],
    }
    roles = [{"id": "r1", "displayName": "Global Reader", "description": SCRIPT}]
    graph_get(http_mock, "/organization", {"value": [org]}, params={})
    graph_get(
        http_mock,
        "/me/memberOf/microsoft.graph.directoryRole",
        {"value": roles},
        params={"$select": "id,displayName,description"},
    )
    response, sent = one_view(user, http_mock, "/directory")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Contoso &lt;Ltd&gt;" in page
    assert "contoso.example <span" in page and "(default)" in page
    assert "contoso.onmicrosoft.com" in page
    assert "Global Reader" in page
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert graph_paths(sent) == ["POST /v1.0/$batch"]
    assert batched_paths(http_mock) == [
        "GET /v1.0/organization",
        "GET /v1.0/me/memberOf/microsoft.graph.directoryRole",
    ]


def test_directory_without_roles_says_so(user, http_mock):
    graph_get(http_mock, "/organization", {"value": [{"displayName": "Contoso"}]})
    graph_get(http_mock, "/me/memberOf/microsoft.graph.directoryRole", {"value": []})
    page = user.get("/directory").get_data(as_text=True)
    assert "You hold no administrator roles" in page


# -- My files ----------------------------------------------------------------

FOLDER = {"id": "i1", "name": "Q1 Reports", "folder": {"childCount": 3}}
BUDGET = {
    "id": "i2",
    "name": "Budget.xlsx",
    "size": 2048,
    "lastModifiedDateTime": "2024-05-01T10:20:30Z",
    "file": {},
    "webUrl": "https://contoso-my.sharepoint.com/Budget.xlsx",
    "@microsoft.graph.downloadUrl": "https://public.dm.files.1drv.com/Budget.xlsx?tempauth=x",
}
HOSTILE_FILE = {
    "id": "i3",
    "name": SCRIPT,
    "file": {},
    "webUrl": " JavaScript:alert(2)",
    "@microsoft.graph.downloadUrl": "javascript:alert(3)",
}


def test_my_files_root_lists_folders_and_files_with_one_graph_call(user, http_mock):
    graph_get(
        http_mock,
        "/me/drive/root/children",
        {"value": [FOLDER, BUDGET]},
        params={"$top": "25"},
    )
    response, sent = one_view(user, http_mock, "/files/")
    page = response.get_data(as_text=True)
    links = link_targets(page)
    assert response.status_code == 200
    assert "Q1 Reports" in page and "3 items" in page
    assert "/files/Q1%20Reports" in links
    assert "Budget.xlsx" in page and "2.0 kB" in page and "2024-05-01 10:20" in page
    assert BUDGET["@microsoft.graph.downloadUrl"] in links
    assert BUDGET["webUrl"] in links
    assert graph_paths(sent) == ["GET /v1.0/me/drive/root/children"]


def test_nested_folder_has_breadcrumbs_and_download_links(user, http_mock):
    graph_get(
        http_mock,
        "/me/drive/root:/Documents/Q1%20Reports:/children",
        {"value": [BUDGET, HOSTILE_FILE]},
    )
    response, sent = one_view(user, http_mock, "/files/Documents/Q1%20Reports")
    page = response.get_data(as_text=True)
    links = link_targets(page)
    assert response.status_code == 200
    assert '<a href="/files/">My files</a>' in page
    assert '<a href="/files/Documents">Documents</a>' in page
    assert '<span aria-current="page">Q1 Reports</span>' in page
    assert BUDGET["@microsoft.graph.downloadUrl"] in links
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert_no_script_links(page)
    assert graph_paths(sent) == ["GET /v1.0/me/drive/root:/Documents/Q1%20Reports:/children"]


def test_next_files_link_stays_in_the_folder(user, http_mock):
    next_link = f"{GRAPH}/me/drive/root:/Documents:/children?$top=25&$skiptoken=p2"
    graph_get(
        http_mock,
        "/me/drive/root:/Documents:/children",
        {"value": [BUDGET], "@odata.nextLink": next_link},
        params={"$top": "25"},
    )
    http_mock.get(next_link, json={"value": [{"id": "i8", "name": "Plan.docx", "file": {}}]})
    first_page = user.get("/files/Documents").get_data(as_text=True)
    more = unescape(link_to(first_page, "/files/Documents?"))
    assert parse_qs(urlsplit(more).query).keys() == {"cursor"}
    assert "skiptoken" not in more
    response, sent = one_view(user, http_mock, more)
    page = response.get_data(as_text=True)
    assert "Plan.docx" in page and "Budget.xlsx" not in page
    assert '<span aria-current="page">Documents</span>' in page
    assert [r.url for r in sent] == [next_link]


def test_a_folder_whose_name_has_spaces_is_where_consent_leads_back_to(
    signed_in_client, client_sign_in, emulator, http_mock
):
    response = signed_in_client.get("/files/Q1%20Reports/Draft%20%C3%A9t%C3%A9")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["next"] == ["/files/Q1%20Reports/Draft%20%C3%A9t%C3%A9"]
    back = client_sign_in(query["next"][0], scope="Files.Read")
    assert back.headers["Location"] == "/files/Q1%20Reports/Draft%20%C3%A9t%C3%A9"


def test_empty_folder_says_so(user, http_mock):
    graph_get(http_mock, "/me/drive/root:/Empty:/children", {"value": []})
    assert "This folder is empty." in user.get("/files/Empty").get_data(as_text=True)


# -- File search -------------------------------------------------------------


def search_request(query: str, start: int) -> dict:
    return {
        "requests": [
            {
                "entityTypes": ["driveItem"],
                "query": {"queryString": query},
                "from": start,
                "size": 20,
            }
        ]
    }


def search_answer(*resources: dict, total: int, more: bool) -> dict:
    hits = [{"hitId": r["id"], "resource": r} for r in resources]
    container = {"hits": hits, "total": total, "moreResultsAvailable": more}
    return {"value": [{"searchTerms": ["budget"], "hitsContainers": [container]}]}


def test_file_search_shows_hits_and_a_next_link_that_fetches_the_next_page(user, http_mock):
    http_mock.post(
        f"{GRAPH}/search/query",
        json=search_answer(BUDGET, HOSTILE_FILE, total=21, more=True),
        match=[matchers.json_params_matcher(search_request("budget", 0))],
    )
    next_file = {**BUDGET, "id": "i9", "name": "Budget 2025.xlsx"}
    http_mock.post(
        f"{GRAPH}/search/query",
        json=search_answer(next_file, total=21, more=False),
        match=[matchers.json_params_matcher(search_request("budget", 20))],
    )
    response, sent = one_view(user, http_mock, "/search?q=budget")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "21 results for “budget”" in page
    assert "Budget.xlsx" in page
    assert BUDGET["webUrl"] in link_targets(page)
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert_no_script_links(page)
    assert graph_paths(sent) == ["POST /v1.0/search/query"]

    more = unescape(link_to(page, "/search?"))
    assert parse_qs(urlsplit(more).query) == {"q": ["budget"], "from": ["20"]}
    response, sent = one_view(user, http_mock, more)
    page = response.get_data(as_text=True)
    assert "Budget 2025.xlsx" in page and "Page 2" in page
    # The last page: no Next, and Previous back to the first page.
    assert [h for h in link_targets(page) if h.startswith("/search?")] == ["/search?q=budget"]
    assert graph_paths(sent) == ["POST /v1.0/search/query"]


@pytest.mark.parametrize("start", ["-20", "abc", "\u00b2", "5000"])
def test_file_search_from_an_unreadable_position_starts_at_the_first_result(user, http_mock, start):
    http_mock.post(
        f"{GRAPH}/search/query",
        json=search_answer(BUDGET, total=1, more=False),
        match=[matchers.json_params_matcher(search_request("budget", 0))],
    )
    response = user.get("/search", query_string={"q": "budget", "from": start})
    assert response.status_code == 200
    assert "Budget.xlsx" in response.get_data(as_text=True)


def test_file_search_without_a_query_asks_graph_nothing(user, http_mock):
    response = user.get("/search")
    assert response.status_code == 200
    assert "Search files" in response.get_data(as_text=True)
    assert no_graph_calls(http_mock)


def test_file_search_without_hits_says_so(user, http_mock):
    http_mock.post(f"{GRAPH}/search/query", json=search_answer(total=0, more=False))
    page = user.get("/search?q=zzz").get_data(as_text=True)
    assert "No files match “zzz”" in page


def test_file_search_past_the_last_result_says_there_are_no_more(user, http_mock):
    http_mock.post(f"{GRAPH}/search/query", json=search_answer(total=13, more=False))
    page = user.get("/search?q=a&from=980").get_data(as_text=True)
    assert "No more results for “a”" in page
    assert "Back to the first results" in page


# -- Sites -------------------------------------------------------------------


def test_site_search_lists_sites_linking_to_their_libraries(user, http_mock):
    sites = [
        {"id": SITE_ID, "displayName": "Contoso Marketing", "description": "Brand assets"},
        {"id": "evil", "displayName": SCRIPT},
    ]
    graph_get(
        http_mock,
        "/sites",
        {"value": sites},
        params={"search": "market", "$top": "25"},
    )
    response, sent = one_view(user, http_mock, "/sites?q=market")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Contoso Marketing" in page and "Brand assets" in page
    assert f"/sites/{SITE_ID}" in link_targets(page)
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert graph_paths(sent) == ["GET /v1.0/sites"]


def test_a_sites_libraries_come_from_one_graph_call(user, http_mock):
    site = {
        "id": SITE_ID,
        "displayName": "Contoso Marketing",
        "description": "Brand assets",
        "drives": [
            {"id": "d1", "name": "Documents", "webUrl": "https://contoso.sharepoint.com/Docs"},
            {"id": "d2", "name": SCRIPT, "webUrl": "javascript:alert(1)"},
        ],
    }
    graph_get(
        http_mock,
        f"/sites/{SITE_ID}",
        site,
        params={"$expand": "drives"},
    )
    response, sent = one_view(user, http_mock, f"/sites/{SITE_ID}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Contoso Marketing</h1>" in page
    assert "Documents" in page
    assert "https://contoso.sharepoint.com/Docs" in link_targets(page)
    assert page.count("Open in SharePoint") == 1
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert_no_script_links(page)
    assert graph_paths(sent) == [f"GET /v1.0/sites/{SITE_ID}"]


def test_the_site_page_links_each_library_to_browse_it_here(user, http_mock):
    site = {
        "id": SITE_ID,
        "displayName": "Contoso Marketing",
        "drives": [
            {"id": "b!lib-1", "name": "Documents"},
            {"id": "../../me", "name": "Forged"},  # not an id: shown, not linked
        ],
    }
    graph_get(http_mock, f"/sites/{SITE_ID}", site)
    page = user.get(f"/sites/{SITE_ID}").get_data(as_text=True)
    assert "Forged" in page
    assert [h for h in link_targets(page) if h.startswith("/drives/")] == ["/drives/b!lib-1/"]


LIBRARY = {
    "id": "d1",
    "name": "Documents",
    "webUrl": "https://contoso.sharepoint.com/sites/marketing/Shared%20Documents",
    "owner": {"group": {"displayName": "Marketing Owners"}},
}
CAMPAIGNS = {"id": "f1", "name": "Campaigns", "folder": {"childCount": 2}}


def test_a_library_lists_its_folders_and_files_with_one_graph_call(user, http_mock):
    graph_get(http_mock, "/drives/d1", LIBRARY)
    graph_get(
        http_mock,
        "/drives/d1/root/children",
        {"value": [CAMPAIGNS, BUDGET, HOSTILE_FILE]},
        params={"$top": "25"},
    )
    response, sent = one_view(user, http_mock, "/drives/d1/")
    page = response.get_data(as_text=True)
    links = link_targets(page)
    assert response.status_code == 200
    assert "<h1>Documents</h1>" in page and "Marketing Owners" in page
    assert "/drives/d1/Campaigns" in links  # the folder opens here, in the library
    assert BUDGET["@microsoft.graph.downloadUrl"] in links
    assert LIBRARY["webUrl"] in links
    assert SCRIPT not in page and ESCAPED_SCRIPT in page
    assert_no_script_links(page)
    assert graph_paths(sent) == ["POST /v1.0/$batch"]
    assert batched_paths(http_mock) == ["GET /v1.0/drives/d1", "GET /v1.0/drives/d1/root/children"]


def test_a_library_folder_has_breadcrumbs_back_to_the_library(user, http_mock):
    graph_get(http_mock, "/drives/d1", LIBRARY)
    graph_get(http_mock, "/drives/d1/root:/Campaigns/Spring%202025:/children", {"value": [BUDGET]})
    response, sent = one_view(user, http_mock, "/drives/d1/Campaigns/Spring%202025")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/drives/d1/">Documents</a>' in page
    assert '<a href="/drives/d1/Campaigns">Campaigns</a>' in page
    assert '<span aria-current="page">Spring 2025</span>' in page
    assert "Budget.xlsx" in page
    assert graph_paths(sent) == ["POST /v1.0/$batch"]
    assert batched_paths(http_mock)[-1] == (
        "GET /v1.0/drives/d1/root:/Campaigns/Spring%202025:/children"
    )


NOT_FOUND = {"error": {"code": "itemNotFound", "message": "The resource could not be found."}}


@pytest.mark.parametrize(
    ("url", "graph_path", "title", "back"),
    [
        ("/files/Gone", "/me/drive/root:/Gone:/children", "Folder not found", "/files/"),
        ("/groups/g-gone", "/groups/g-gone", "Group not found", "/groups"),
        (f"/sites/{SITE_ID}", f"/sites/{SITE_ID}", "Site not found", "/sites"),
        ("/drives/d-gone/", "/drives/d-gone", "Library not found", "/sites"),
        ("/drives/d1/Gone", "/drives/d1/root:/Gone:/children", "Folder not found", "/drives/d1/"),
        ("/drive-items/d1/i-gone", "/drives/d1/items/i-gone", "File not found", "/search"),
    ],
)
def test_something_graph_cannot_find_is_a_404_page_with_a_way_back_to_its_list(
    user, http_mock, url, graph_path, title, back
):
    graph_get(http_mock, "/drives/d1", LIBRARY)
    http_mock.get(f"{GRAPH}{graph_path}", json=NOT_FOUND, status=404, headers={"request-id": "r-1"})
    response = user.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert f"<h1>{title}</h1>" in page
    assert back in link_targets(page)
    assert "Try again" not in page and "Microsoft Graph could not answer" not in page
    assert "r-1" in page  # the request id, for a support call
    assert "Sign out" in page  # in the site's layout, signed in


# -- Hostile text from Graph -------------------------------------------------

# Graph data a tenant's users control, and how it must appear in our HTML.
HOSTILE_TEXT = [
    (SCRIPT, ESCAPED_SCRIPT),
    ('"><img src=x onerror=alert(1)>', "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"),
]


def site_search_with_description(http_mock, text: str) -> str:
    site = {"id": SITE_ID, "displayName": "Contoso Marketing", "description": text}
    graph_get(http_mock, "/sites", {"value": [site]})
    return "/sites?q=market"


def site_with_description(http_mock, text: str) -> str:
    site = {"id": SITE_ID, "displayName": "Contoso Marketing", "description": text, "drives": []}
    graph_get(http_mock, f"/sites/{SITE_ID}", site)
    return f"/sites/{SITE_ID}"


def site_with_library_description(http_mock, text: str) -> str:
    library = {"id": "d1", "name": "Documents", "description": text}
    site = {"id": SITE_ID, "displayName": "Contoso Marketing", "drives": [library]}
    graph_get(http_mock, f"/sites/{SITE_ID}", site)
    return f"/sites/{SITE_ID}"


def people_with_mail(http_mock, text: str) -> str:
    graph_get(http_mock, "/users", {"value": [{**ADELE, "mail": text}]})
    return "/people"


def group_member_with_mail(http_mock, text: str) -> str:
    graph_get(http_mock, "/groups/g-sales", {"displayName": "Sales"})
    graph_get(http_mock, "/groups/g-sales/members", {"value": [{**ADELE, "mail": text}]})
    return "/groups/g-sales"


def organization_with_domain(http_mock, text: str) -> str:
    org = {"displayName": "Contoso", "verifiedDomains": [{"name": text, "isDefault": True}]}
    graph_get(http_mock, "/organization", {"value": [org]})
    graph_get(http_mock, "/me/memberOf/microsoft.graph.directoryRole", {"value": []})
    return "/directory"


@pytest.mark.parametrize(("raw", "escaped"), HOSTILE_TEXT, ids=["script", "attribute-break"])
@pytest.mark.parametrize(
    "place",
    [
        site_search_with_description,
        site_with_description,
        site_with_library_description,
        people_with_mail,
        group_member_with_mail,
        organization_with_domain,
    ],
)
def test_hostile_text_from_graph_is_shown_escaped_never_as_html(
    user, http_mock, place, raw, escaped
):
    response = user.get(place(http_mock, raw))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert escaped in page
    assert raw not in page


# -- Personal accounts, throttling and refusals --------------------------------

ORGANIZATION_PAGES = [
    "/people",
    "/groups",
    "/groups/g-1",
    "/directory",
    "/search?q=budget",
    "/sites",
    f"/sites/{SITE_ID}",
]


@pytest.fixture
def personal_user(env, emulator):
    """A personal Microsoft account signed in at "common", with OneDrive consented."""
    common = {k: v for k, v in env.items() if k != "TENANT_ID"}
    sign_in = SignIn(create_app(common).test_client(), emulator)
    assert sign_in(user=KAI, scope="Files.Read").status_code == 303
    return sign_in.client


@pytest.mark.parametrize("url", ORGANIZATION_PAGES)
def test_personal_account_gets_a_plain_explanation_and_no_graph_call(personal_user, http_mock, url):
    response = personal_user.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Not available for personal Microsoft accounts" in page
    assert no_graph_calls(http_mock)


def test_a_personal_account_sees_only_the_pages_it_can_use(personal_user):
    home = personal_user.get("/").get_data(as_text=True)
    for usable in ("/graphcall", "/files/"):
        assert f'href="{usable}"' in home
    for organizations_only in ("/people", "/groups", "/directory", "/search", "/sites"):
        assert f'href="{organizations_only}"' not in home


def test_personal_account_can_still_browse_their_onedrive(personal_user, http_mock):
    graph_get(http_mock, "/me/drive/root/children", {"value": [BUDGET]})
    response = personal_user.get("/files/")
    assert response.status_code == 200
    assert "Budget.xlsx" in response.get_data(as_text=True)


# (page, the Graph call that answers first, its scope)
PAGE_CALLS = [
    ("/people", "GET", "/users", "User.ReadBasic.All"),
    ("/groups", "GET", "/me/memberOf/microsoft.graph.group", "Group.Read.All"),
    ("/groups/g-1", "GET", "/groups/g-1", "Group.Read.All User.ReadBasic.All"),
    ("/directory", "GET", "/organization", "Directory.AccessAsUser.All"),
    ("/files/", "GET", "/me/drive/root/children", "Files.Read"),
    ("/files/Documents", "GET", "/me/drive/root:/Documents:/children", "Files.Read"),
    ("/files/Q1%20Reports", "GET", "/me/drive/root:/Q1%20Reports:/children", "Files.Read"),
    ("/drives/d1/", "GET", "/drives/d1", "Sites.Read.All"),
    ("/search?q=budget", "POST", "/search/query", "Files.Read.All"),
    ("/sites?q=market", "GET", "/sites", "Sites.Read.All"),
    (f"/sites/{SITE_ID}", "GET", f"/sites/{SITE_ID}", "Sites.Read.All"),
]


@pytest.mark.parametrize(("url", "method", "path", "scope"), PAGE_CALLS)
def test_graph_throttling_is_our_busy_page_with_graphs_retry_after(
    user, http_mock, url, method, path, scope
):
    throttled = http_mock.add(
        method,
        f"{GRAPH}{path}",
        json={"error": {"code": "TooManyRequests", "message": "Please retry after 120 s."}},
        status=429,
        headers={"Retry-After": "120"},
    )
    response = user.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "120"
    assert "Microsoft Graph is busy" in page
    assert "try again in 120 seconds" in page
    assert "TooManyRequests" not in page and '"error"' not in page
    assert throttled.call_count == 1  # a 2-minute wait is not sat out while the page hangs


@pytest.mark.parametrize(("url", "method", "path", "scope"), PAGE_CALLS)
def test_token_refused_after_renewal_long_after_sign_in_asks_for_the_pages_permission(
    user, http_mock, url, method, path, scope
):
    http_mock.add(method, f"{GRAPH}{path}", json=GRAPH_UNAUTHORIZED, status=401)
    with user.session_transaction() as session:
        session["signed_in_at"] = 0  # signed in long ago
        session["tokens_refreshed_at"] = int(time.time())  # and just renewed
    response = user.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [url], "scope": scope.split()}


@pytest.mark.parametrize(("url", "method", "path", "scope"), PAGE_CALLS)
def test_token_refused_right_after_sign_in_and_renewal_is_shown_not_looped(
    user, http_mock, url, method, path, scope
):
    http_mock.add(method, f"{GRAPH}{path}", json=GRAPH_UNAUTHORIZED, status=401)
    with user.session_transaction() as session:
        session["tokens_refreshed_at"] = int(time.time())
    response = user.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Microsoft Graph could not answer" in page
    assert "Lifetime validation failed" in page and "InvalidAuthenticationToken" in page


@pytest.mark.parametrize(("url", "method", "path", "scope"), PAGE_CALLS)
def test_graph_refusing_this_user_is_explained_not_answered_with_a_sign_in(
    user, http_mock, url, method, path, scope
):
    # A guest or a restricted tenant: consent was given, and signing in again changes nothing.
    http_mock.add(method, f"{GRAPH}{path}", json=GRAPH_FORBIDDEN, status=403)
    with user.session_transaction() as session:
        session["signed_in_at"] = 0  # long ago: no time-based guard hides a bounce
    response = user.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Not available to your account" in page
    assert "Signing in again will not change the answer" in page


def test_file_search_reads_hits_shaped_as_the_search_api_documents_them(user, http_mock):
    # The docs' example: no size, file or folder facet; dates in fileSystemInfo; pages too.
    report = {
        "@odata.type": "#microsoft.graph.driveItem",
        "id": "h1",
        "name": "Q1 report.docx",
        "webUrl": "https://contoso.sharepoint.com/sites/m/Shared%20Documents/Q1%20report.docx",
        "fileSystemInfo": {"lastModifiedDateTime": "2024-03-01T09:30:00Z"},
        "parentReference": {"driveId": "d1", "id": "p1"},
    }
    page_hit = {
        "@odata.type": "#microsoft.graph.driveItem",
        "id": "h2",
        "name": "Home.aspx",
        "webUrl": "https://contoso.sharepoint.com/sites/m/SitePages/Home.aspx",
        "lastModifiedDateTime": "2024-02-01T08:00:00Z",
    }
    http_mock.post(
        f"{GRAPH}/search/query", json=search_answer(report, page_hit, total=2, more=False)
    )
    page = user.get("/search?q=report").get_data(as_text=True)
    assert "Q1 report.docx" in page and "Home.aspx" in page
    assert "2024-03-01 09:30" in page and "2024-02-01 08:00" in page
    assert "None" not in page
    # The report opens through the app, by its ids; the page is a page, not a download.
    assert link_targets(page).count("/drive-items/d1/h1") == 1
    assert page.count("Download") == 1


MARKETING_SITE = "contoso.sharepoint.com,2c712604-1370-44e7-a1f5-426573fda80a,2d2244c3"
SITE_FILE_HIT = {
    "id": "i-brief",
    "name": "Spring brief.docx",
    "webUrl": "https://contoso.sharepoint.com/sites/marketing/Shared%20Documents/Campaigns/"
    "Spring%20brief.docx",
    "parentReference": {"siteId": MARKETING_SITE, "driveId": "d1", "id": "f1"},
}
ONEDRIVE_HIT = {
    "id": "i-roadmap",
    "name": "Roadmap.pdf",
    "size": 4096,
    "webUrl": "https://contoso-my.sharepoint.com/personal/adele_contoso_example/Documents/"
    "Projects/Roadmap.pdf",
    "parentReference": {"siteId": "contoso-my.sharepoint.com,1,2", "driveId": "d-me", "id": "p"},
}
OFFICE_HIT = {  # Office documents' webUrl may be the site's document viewer
    "id": "i-plan",
    "name": "Plan.docx",
    "webUrl": "https://contoso.sharepoint.com/sites/finance/_layouts/15/Doc.aspx"
    "?sourcedoc=%7Babc%7D&file=Plan.docx",
    "parentReference": {"siteId": "contoso.sharepoint.com,3,4", "driveId": "d3", "id": "p3"},
}
FOLDER_HIT = {  # no folder facet, as the Search API answers
    "id": "f1",
    "name": "Campaigns",
    "webUrl": "https://contoso.sharepoint.com/sites/marketing/Shared%20Documents/Campaigns",
    "parentReference": {"siteId": MARKETING_SITE, "driveId": "d1", "id": "root-1"},
}


def test_search_hits_say_where_they_live_without_a_graph_call_each(user, http_mock):
    http_mock.post(
        f"{GRAPH}/search/query",
        json=search_answer(SITE_FILE_HIT, ONEDRIVE_HIT, OFFICE_HIT, total=3, more=False),
    )
    response, sent = one_view(user, http_mock, "/search?q=plan")
    page = response.get_data(as_text=True)
    assert "In <a" in page and ">marketing</a> › Shared Documents › Campaigns</span>" in page
    assert f"/sites/{MARKETING_SITE}" in link_targets(page)
    assert "In OneDrive › Projects</span>" in page
    assert ">finance</a></span>" in page  # the viewer's address names the site only
    assert graph_paths(sent) == ["POST /v1.0/search/query"]


def test_a_file_hit_downloads_through_the_app_by_its_ids(user, http_mock):
    http_mock.post(f"{GRAPH}/search/query", json=search_answer(SITE_FILE_HIT, total=1, more=False))
    page = user.get("/search?q=spring").get_data(as_text=True)
    (row,) = [line for line in page.splitlines() if ">Download<" in line]
    download = link_to(row, "/drive-items/")
    assert download == "/drive-items/d1/i-brief"

    item = {
        **SITE_FILE_HIT,
        "file": {"mimeType": "application/msword"},
        "@microsoft.graph.downloadUrl": "https://contoso.sharepoint.com/_layouts/15/download.aspx"
        "?UniqueId=abc&tempauth=short-lived",
    }
    call = graph_get(http_mock, "/drives/d1/items/i-brief", item)
    response, sent = one_view(user, http_mock, download)
    assert response.status_code == 302
    assert response.headers["Location"] == item["@microsoft.graph.downloadUrl"]
    assert graph_paths(sent) == ["GET /v1.0/drives/d1/items/i-brief"]
    assert call.call_count == 2


def test_a_folder_hit_looks_like_a_folder_and_opens_in_the_library_view(user, http_mock):
    http_mock.post(f"{GRAPH}/search/query", json=search_answer(FOLDER_HIT, total=1, more=False))
    page = user.get("/search?q=campaigns").get_data(as_text=True)
    assert '<a href="/drive-items/d1/f1">Campaigns</a>' in page
    assert "Download" not in page

    folder = {
        **FOLDER_HIT,
        "folder": {"childCount": 2},
        "parentReference": {"driveId": "d1", "path": "/drives/d1/root:/Shared%20Plans"},
    }
    graph_get(http_mock, "/drives/d1/items/f1", folder)
    response = user.get("/drive-items/d1/f1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/drives/d1/Shared%20Plans/Campaigns"


def test_a_hit_that_turns_out_to_be_a_notebook_opens_on_the_web(user, http_mock):
    notebook = {**FOLDER_HIT, "package": {"type": "oneNote"}}
    graph_get(http_mock, "/drives/d1/items/f1", notebook)
    response = user.get("/drive-items/d1/f1")
    assert response.status_code == 302
    assert response.headers["Location"] == FOLDER_HIT["webUrl"]


def test_an_item_graph_offers_only_a_script_link_for_is_not_followed(user, http_mock):
    graph_get(
        http_mock,
        "/drives/d1/items/i1",
        {"id": "i1", "name": "x.txt", "file": {}, "@microsoft.graph.downloadUrl": "javascript:1"},
    )
    response = user.get("/drive-items/d1/i1")
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_file_search_pages_back_and_forth(user, http_mock):
    for start in (0, 20, 40):
        http_mock.post(
            f"{GRAPH}/search/query",
            json=search_answer({**BUDGET, "name": f"Hit {start}.xlsx"}, total=60, more=start < 40),
            match=[matchers.json_params_matcher(search_request("budget", start))],
        )
    page = user.get("/search?q=budget&from=40").get_data(as_text=True)
    assert "Page 3" in page and "Hit 40.xlsx" in page
    links = pager_links(page)
    assert links.keys() == {"Previous"}
    assert parse_qs(urlsplit(unescape(links["Previous"])).query) == {
        "q": ["budget"],
        "from": ["20"],
    }
