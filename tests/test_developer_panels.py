"""For developers: each Graph page's "How this page works" panel, and the Token claims page.

With DEVELOPER_PANELS=true a page lists exactly the Graph calls its view sent (counted
against what Graph saw), with status, time, request-id and retries; the Token claims page
shows the ID token's claims and no token. Without the setting neither exists.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import ssl
from html.parser import HTMLParser

import pytest
import requests
from app_helpers import SignIn
from entra_emulator.certs import make_certificates
from test_graph_client import Reply, ScriptedGraph
from test_pages import PAGE_PERMISSIONS

from app import create_app
from app_config import load_settings

GRAPH = "https://graph.microsoft.com/v1.0"
SCRIPT = "<script>alert(1)</script>"
PANEL = "How this page works"
DOCS = "https://learn.microsoft.com/graph/api/"


@pytest.fixture
def env(env):
    """Every app of this module has the panels on, unless a test takes them away."""
    return env | {"DEVELOPER_PANELS": "true"}


@pytest.fixture
def user(signed_in_client, emulator):
    """A signed-in work-account user who has consented to every page's permission."""
    emulator.grant_consent("adele@contoso.example", PAGE_PERMISSIONS)
    return signed_in_client


class _Panel(HTMLParser):
    """The calls the panel lists: each as {"request": "GET /me", fact: value, "links": [...]},
    and a batch's requests as "batched": ["GET /path: 200, Reference title", ...]."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.calls: list[dict] = []
        self._in_panel = self._in_call = self._in_batched = False
        self._field: str | None = None
        self._dt = ""
        self._text = ""
        self._batched_text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details" and "how-it-works" in (attrs.get("class") or ""):
            self.found = self._in_panel = True
        elif self._in_call and tag == "li":
            self._in_batched, self._batched_text = True, ""
        elif self._in_panel and tag == "li":
            self._in_call = True
            self.calls.append({"links": [], "batched": []})
        elif self._in_call and tag in ("p", "dt", "dd"):
            self._field, self._text = tag, ""
        elif self._in_call and tag == "a":
            self.calls[-1]["links"].append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "details":
            self._in_panel = False
        elif tag == "li" and self._in_batched:
            self._in_batched = False
            self.calls[-1]["batched"].append(" ".join(self._batched_text.split()))
        elif tag == "li":
            self._in_call = False
        elif self._in_call and tag == self._field:
            text = " ".join(self._text.split())
            if tag == "p":
                self.calls[-1]["request"] = text
            elif tag == "dt":
                self._dt = text
            else:
                self.calls[-1][self._dt] = text
            self._field = None

    def handle_data(self, data):
        if self._field:
            self._text += data
        if self._in_batched:
            self._batched_text += data


def panel(page: str) -> _Panel:
    parser = _Panel()
    parser.feed(page)
    return parser


def graph_requests(emulator, since: float):
    """What the emulator's Graph answered since `since`, oldest first."""
    return emulator.request_log(path="/v1.0/*", since=since)


def first_link(client, url: str, prefix: str) -> str:
    """The first link under `prefix` that the page at `url` offers, as a user would click it."""
    page = client.get(url).get_data(as_text=True)
    return re.search(rf'href="({re.escape(prefix)}[^"?]+)"', page).group(1)


def group_id(client) -> str:
    return first_link(client, "/groups", "/groups/").removeprefix("/groups/")


# -- the panel lists exactly the calls the view sent -------------------------------------


def test_profile_panel_lists_its_one_graph_call_as_graph_saw_it(signed_in_client, emulator_graph):
    since = emulator_graph.now()
    response = signed_in_client.get("/graphcall")
    page = response.get_data(as_text=True)

    seen = graph_requests(emulator_graph, since)
    calls = panel(page).calls
    assert response.status_code == 200
    assert [c["Status"] for c in calls] == ["200"]
    assert calls[0]["request"].startswith("GET /me?$select=id,displayName,")
    assert len(seen) == 1 and seen[0].path == "/v1.0/me"
    assert calls[0]["client-request-id"] == seen[0].client_request_id
    assert re.fullmatch(r"\d+ ms", calls[0]["Time"])
    assert calls[0]["links"] == [f"{DOCS}user-get?view=graph-rest-1.0"]
    assert "an access token for <code>User.Read</code>" in page


def test_a_group_page_lists_its_one_batch_and_the_requests_in_it(user, emulator_graph, http_mock):
    group = group_id(user)
    since = emulator_graph.now()
    before = len(http_mock.calls)

    page = user.get(f"/groups/{group}").get_data(as_text=True)

    seen = graph_requests(emulator_graph, since)
    answered = [c.response for c in http_mock.calls[before:] if c.request.url.startswith(GRAPH)]
    (call,) = panel(page).calls
    assert [(s.path, s.batch) for s in seen] == [
        (f"/v1.0/groups/{group}", True),
        (f"/v1.0/groups/{group}/members", True),
        ("/v1.0/$batch", False),
    ]
    assert call["request"] == "POST /$batch"
    assert call["client-request-id"] == seen[-1].client_request_id
    assert call["request-id"] == answered[0].headers["request-id"]
    assert call["Status"] == "200"
    assert [b.split("?")[0] for b in call["batched"]] == [
        f"GET /groups/{group}",
        f"GET /groups/{group}/members",
    ]
    assert call["batched"][0] == f"GET /groups/{group}?$select=displayName: 200, Get group"
    assert call["batched"][1].endswith(": 200, List group members")
    assert call["links"] == [
        "https://learn.microsoft.com/graph/json-batching",
        f"{DOCS}group-get?view=graph-rest-1.0",
        f"{DOCS}group-list-members?view=graph-rest-1.0",
    ]
    assert "<code>Group.Read.All User.ReadBasic.All</code>" in page


def test_every_call_of_every_graph_page_links_its_microsoft_graph_reference_page(
    user, emulator_graph
):
    batch = "https://learn.microsoft.com/graph/json-batching"
    site = first_link(user, "/sites", "/sites/")
    library = first_link(user, site, "/drives/")
    pages = {
        "/graphcall": [["user-get"]],
        "/people?q=a": [["user-list"]],
        "/groups": [["user-list-memberof"]],
        first_link(user, "/groups", "/groups/"): [[batch, "group-get", "group-list-members"]],
        "/directory": [[batch, "organization-list", "user-list-memberof"]],
        "/files/": [["driveitem-list-children"]],
        "/files/Documents": [["driveitem-list-children"]],
        "/search?q=campaign": [["search-query"]],
        "/sites?q=marketing": [["site-search"]],
        site: [["site-get"]],
        library: [[batch, "drive-get", "driveitem-list-children"]],
    }
    for url, references in pages.items():
        response = user.get(url)
        links = [c["links"] for c in panel(response.get_data(as_text=True)).calls]
        assert response.status_code == 200, url
        assert links == [
            [ref if ref == batch else f"{DOCS}{ref}?view=graph-rest-1.0" for ref in call]
            for call in references
        ], url


@pytest.mark.parametrize(
    ("answer", "status", "request_id"),
    [
        (
            {
                "status": 400,
                "json": {"error": {"code": "BadRequest", "message": "Nope"}},
                "headers": {"request-id": "graph-request-7"},
            },
            "400",
            "graph-request-7",
        ),
        ({"body": requests.ConnectionError("refused")}, "failed (ConnectionError)", "—"),
    ],
)
def test_a_page_whose_graph_call_failed_shows_the_failure_in_its_panel(
    signed_in_client, http_mock, answer, status, request_id
):
    http_mock.get(f"{GRAPH}/me", **answer)

    page = signed_in_client.get("/graphcall").get_data(as_text=True)

    (call,) = panel(page).calls
    assert (call["Status"], call["request-id"]) == (status, request_id)


def test_a_graph_page_that_needs_no_graph_call_says_so(env, emulator):
    # A personal account (at "common") is told the People page is not for it, without Graph.
    common = {name: value for name, value in env.items() if name != "TENANT_ID"}
    sign_in = SignIn(create_app(common).test_client(), emulator)
    assert sign_in(user="kai.carter@outlook.example").status_code == 303

    response = sign_in.client.get("/people")

    found = panel(response.get_data(as_text=True))
    assert response.status_code == 403
    assert found.found and found.calls == []
    assert "This page view sent no requests to Microsoft Graph." in response.get_data(as_text=True)


def test_pages_that_send_nothing_to_graph_have_no_panel(signed_in_client, http_mock):
    for url in ("/", "/token-claims", "/no-such-page"):
        assert not panel(signed_in_client.get(url).get_data(as_text=True)).found, url


# -- retries -------------------------------------------------------------------------------


@pytest.fixture
def graph_server(tmp_path, monkeypatch, http_mock):
    """A scripted Graph on a real TLS socket, so urllib3's retries happen as in production
    (responses replaces the adapter that retries)."""
    ca_path, cert_path, key_path = make_certificates(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    server = ScriptedGraph(tls=tls)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    monkeypatch.setenv("NO_PROXY", "*")
    http_mock.add_passthru(server.origin)
    yield server
    server.stop()


@pytest.fixture
def scripted_user(env, emulator, graph_server):
    client = create_app(env | {"GRAPH_ENDPOINT": graph_server.url}).test_client()
    assert SignIn(client, emulator)().status_code == 303
    return client


def test_a_retried_call_is_one_row_that_shows_its_retries(scripted_user, graph_server):
    busy = {"error": {"code": "serviceNotAvailable", "message": "Try later"}}
    graph_server.script(
        Reply(503, busy, {"Retry-After": "0", "request-id": "first-try"}),
        Reply(body={"displayName": "Ada"}, headers={"request-id": "second-try"}),
    )

    page = scripted_user.get("/graphcall").get_data(as_text=True)

    (call,) = panel(page).calls
    assert len(graph_server.seen) == 2
    assert call["client-request-id"] == graph_server.seen[0].headers["client-request-id"]
    assert (call["Status"], call["Retries"], call["request-id"]) == (
        "200",
        "1, after 503",
        "second-try",
    )


def test_the_busy_page_shows_every_retry_of_the_call_graph_kept_refusing(
    scripted_user, graph_server
):
    busy = {"error": {"code": "TooManyRequests", "message": "Slow down"}}
    graph_server.script(
        Reply(429, busy, {"Retry-After": "0"}),
        Reply(503, busy, {"Retry-After": "0"}),
        Reply(429, busy, {"Retry-After": "0", "request-id": "last-try"}),
    )

    response = scripted_user.get("/graphcall")

    (call,) = panel(response.get_data(as_text=True)).calls
    assert response.status_code == 503
    assert len(graph_server.seen) == 3
    assert (call["Status"], call["Retries"], call["request-id"]) == (
        "429",
        "2, after 429, 503",
        "last-try",
    )


# -- escaping and logs ---------------------------------------------------------------------


def test_a_hostile_search_is_shown_escaped_in_the_panel_and_never_logged(user, http_mock, caplog):
    http_mock.get(f"{GRAPH}/users", json={"value": []})
    user.get("/people")  # warm-up: the page's token

    with caplog.at_level(logging.INFO):
        page = user.get("/people", query_string={"q": SCRIPT}).get_data(as_text=True)

    (call,) = panel(page).calls
    assert f'$search="displayName:{SCRIPT}" OR "mail:{SCRIPT}"' in call["request"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page
    assert call["links"] == [f"{DOCS}user-list?view=graph-rest-1.0"]
    assert "alert" not in caplog.text


# -- off by default ------------------------------------------------------------------------


@pytest.fixture
def client_without_panels(env, emulator):
    plain = {name: value for name, value in env.items() if name != "DEVELOPER_PANELS"}
    client = create_app(plain).test_client()
    assert SignIn(client, emulator)().status_code == 303
    return client


def test_without_the_setting_there_is_no_panel_no_claims_page_and_no_link(
    client_without_panels, http_mock
):
    http_mock.get(f"{GRAPH}/me", json={"displayName": "Ada"})

    profile = client_without_panels.get("/graphcall").get_data(as_text=True)

    assert "Ada" in profile
    assert PANEL not in profile and "Token claims" not in profile
    assert client_without_panels.get("/token-claims").status_code == 404


@pytest.mark.parametrize(("raw", "on"), [("", False), ("false", False), ("true", True)])
def test_developer_panels_is_a_yes_no_setting_off_by_default(env, raw, on):
    settings, problems = load_settings(env | {"DEVELOPER_PANELS": raw})
    assert (settings.developer_panels, problems) == (on, [])


def test_a_malformed_developer_panels_value_is_named_on_the_configuration_page(env):
    page = create_app(env | {"DEVELOPER_PANELS": "sometimes"}).test_client().get("/")
    assert page.status_code == 503
    assert "DEVELOPER_PANELS" in page.get_data(as_text=True)


# -- the Token claims page -----------------------------------------------------------------


def _claims_of(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def claim_rows(page: str) -> dict[str, tuple[str, str]]:
    """Claim name -> (value cell, meaning cell), as the table shows them."""
    rows = re.findall(
        r'<th scope="row"><code>(.*?)</code></th>\s*<td class="claim-value">(.*?)</td>\s*'
        r"<td>(.*?)</td>",
        page,
        re.S,
    )
    return {name: (value, meaning) for name, value, meaning in rows}


def test_token_claims_shows_the_id_tokens_claims_and_never_a_token(client_sign_in, token_endpoint):
    # An optional claim the page does not know, hostile, and one of Microsoft's xms_ claims.
    token_endpoint.tamper_id_tokens({"custom_claim": SCRIPT, "xms_edov": True})
    assert client_sign_in().status_code == 303
    client = client_sign_in.client

    page = client.get("/token-claims").get_data(as_text=True)

    (sign_in,) = [c.answer for c in token_endpoint.calls()]
    claims = _claims_of(sign_in["id_token"])
    rows = claim_rows(page)
    assert set(rows) == set(claims)
    assert rows["name"][0] == "Adele Vance"
    assert rows["preferred_username"][0] == "adele@contoso.example"
    assert rows["oid"][0] == claims["oid"] and rows["tid"][0] == claims["tid"]
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f'{claims["exp"]}<br><span class="muted">{expires} UTC</span>' == rows["exp"][0]
    assert "Application (client) ID" in rows["aud"][1]
    assert rows["custom_claim"] == ("&lt;script&gt;alert(1)&lt;/script&gt;", "—")
    assert rows["xms_edov"][0] == "true" and "Microsoft extension claim" in rows["xms_edov"][1]
    assert SCRIPT not in page
    for token in ("id_token", "access_token", "refresh_token"):
        assert sign_in[token] not in page
        assert sign_in[token].split(".")[-1] not in page
    assert "learn.microsoft.com/entra/identity-platform/id-token-claims-reference" in page
    assert 'href="/token-claims"' in client.get("/").get_data(as_text=True)


def test_token_claims_needs_a_signed_in_user(client):
    response = client.get("/token-claims")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/token-claims"
