"""Cheap pages: one Graph request per view, and a photo asked of Graph once per period.

Pages that need two Graph resources send them in one JSON batch (POST /$batch), whose
requests Graph answers and throttles each on its own. Photos are kept in the process's
memory, keyed by tenant, and served without Graph or a token only to signed-in users
Graph has lately answered a photo request for. Counted against the emulator's request log
(the batch and the requests inside it are told apart) or, for scripted answers, at the
HTTP boundary (`responses`, with tests/graph_batch.py answering batches from scripted GETs).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from app_helpers import SignIn, sign_out
from graph_batch import answer_batches_from_gets, batched, outbound
from test_consent import CAE_REJECTION, CHALLENGE, CLAIMS
from test_graph_client import Reply, ScriptedGraph
from test_pages import PAGE_PERMISSIONS

from app import create_app
from graph.client import GetRequest, GraphBusy, GraphClient, GraphError, GraphNotFound

GRAPH = "https://graph.microsoft.com/v1.0"
TOKEN = "eyJ0eXAiOiJKV1QiLCJ-secret-access-token"
ADELE = "adele@contoso.example"
GRADY = "grady@contoso.example"  # signed in with the sign-in permission only
ALL_COMPANY = "c0bc0162-cfe7-41fd-b346-d1781c6e7f0f"  # the emulator's group of 13
PNG = b"\x89PNG\r\n\x1a\n"
BUSY = {"error": {"code": "TooManyRequests", "message": "Please retry."}}


@pytest.fixture
def user(signed_in_client, emulator):
    """Adele, signed in, who has consented to every page's permission."""
    emulator.grant_consent(ADELE, PAGE_PERMISSIONS)
    return signed_in_client


def http_requests(emulator, since: float) -> list[str]:
    """What reached the emulator's Graph over HTTP since `since` (a batch is one)."""
    return [e.path for e in emulator.request_log(path="/v1.0/*", since=since) if not e.batch]


def batched_requests(emulator, since: float) -> list[tuple[str, int]]:
    """The requests Graph answered inside batches since `since`: (path, status)."""
    log = emulator.request_log(path="/v1.0/*", since=since)
    return [(e.path, e.status) for e in log if e.batch]


def view(client, emulator, url: str, *, then: Callable[[], object] = lambda: None):
    """Open `url` once warm (its token already got; `then` runs after the warm-up view):
    the response and what reached Graph."""
    client.get(url)
    then()
    since = emulator.now()  # the log times answers: earlier ones are before it
    response = client.get(url)
    return response, http_requests(emulator, since), batched_requests(emulator, since)


def links(page: str, prefix: str) -> list[str]:
    return re.findall(rf'href="({re.escape(prefix)}[^"]*)"', page)


# -- one Graph request per view ------------------------------------------------------------


def test_a_group_page_is_one_graph_request_on_every_page_of_its_members(user, emulator_graph):
    response, sent, inside = view(user, emulator_graph, f"/groups/{ALL_COMPANY}")
    first = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>All Company</h1>" in first
    assert sent == ["/v1.0/$batch"]
    assert inside == [
        (f"/v1.0/groups/{ALL_COMPANY}", 200),
        (f"/v1.0/groups/{ALL_COMPANY}/members", 200),
    ]

    assert len(photo_ids(first)) == 10

    # Page 2: the group again and the members' next link, in one batch again.
    (following,) = re.findall(r'rel="next" href="([^"]+)"', first)
    response, sent, inside = view(user, emulator_graph, unescape(following))
    second = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>All Company</h1>" in second
    assert "<span>Page 2</span>" in second
    assert len(photo_ids(second)) == 3  # 13 members, 10 a page
    assert sent == ["/v1.0/$batch"]
    assert inside == [
        (f"/v1.0/groups/{ALL_COMPANY}", 200),
        (f"/v1.0/groups/{ALL_COMPANY}/members", 200),
    ]


def test_the_directory_page_is_one_graph_request(user, emulator_graph):
    response, sent, inside = view(user, emulator_graph, "/directory")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Contoso (emulated)" in page and "Global Reader" in page
    assert sent == ["/v1.0/$batch"]
    assert inside == [
        ("/v1.0/organization", 200),
        ("/v1.0/me/memberOf/microsoft.graph.directoryRole", 200),
    ]


def test_a_library_view_is_one_graph_request_at_its_root_and_in_a_folder(user, emulator_graph):
    (site, *_) = links(user.get("/sites").get_data(as_text=True), "/sites/")
    (library, *_) = links(user.get(site).get_data(as_text=True), "/drives/")
    drive = library.split("/")[2]

    response, sent, inside = view(user, emulator_graph, library)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sent == ["/v1.0/$batch"]
    assert inside == [(f"/v1.0/drives/{drive}", 200), (f"/v1.0/drives/{drive}/root/children", 200)]

    folder = next(link for link in links(page, f"/drives/{drive}/") if link != library)
    response, sent, inside = view(user, emulator_graph, folder)
    assert response.status_code == 200
    assert sent == ["/v1.0/$batch"]
    assert [path for path, _ in inside][0] == f"/v1.0/drives/{drive}"


def test_the_developer_panel_shows_the_batch_as_one_call_with_its_requests(env, emulator_graph):
    client = create_app(env | {"DEVELOPER_PANELS": "true"}).test_client()
    emulator_graph.grant_consent(ADELE, PAGE_PERMISSIONS)
    assert SignIn(client, emulator_graph)().status_code == 303

    page = client.get("/directory").get_data(as_text=True)

    assert "This page view sent 1 request to Microsoft Graph" in page
    assert "<code>/$batch</code>" in page
    assert "2 requests in this one, each answered on its own" in page
    assert "<code>/organization</code>: 200" in page
    assert "/me/memberOf/microsoft.graph.directoryRole?$select=id,displayName,description" in page
    assert 'href="https://learn.microsoft.com/graph/json-batching"' in page


# -- each request in a batch answers on its own --------------------------------------------


def test_a_throttled_request_in_a_batch_is_sent_again_alone(user, emulator_graph):
    rule = {"path": "/v1.0/groups/*/members", "status": 429, "retry_after": 0, "count": 1}

    response, sent, inside = view(
        user,
        emulator_graph,
        f"/groups/{ALL_COMPANY}",
        then=lambda: emulator_graph.set_fault_rules([rule]),
    )

    assert response.status_code == 200
    assert "Adele Vance" in response.get_data(as_text=True)
    assert sent == ["/v1.0/$batch", "/v1.0/$batch"]
    assert inside == [
        (f"/v1.0/groups/{ALL_COMPANY}", 200),
        (f"/v1.0/groups/{ALL_COMPANY}/members", 429),
        (f"/v1.0/groups/{ALL_COMPANY}/members", 200),  # alone, in the second batch
    ]


def test_a_request_throttled_for_longer_than_worth_waiting_shows_the_busy_page(
    user, emulator_graph
):
    rule = {"path": "/v1.0/me/memberOf/*", "status": 429, "retry_after": 120}

    response, sent, _ = view(
        user, emulator_graph, "/directory", then=lambda: emulator_graph.set_fault_rules([rule])
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "120"
    assert "Microsoft Graph is busy" in response.get_data(as_text=True)
    assert sent == ["/v1.0/$batch"]  # not sat out


def test_a_group_that_is_not_there_is_the_404_page(user, emulator_graph):
    response, sent, inside = view(
        user, emulator_graph, "/groups/00000000-0000-0000-0000-0000000000aa"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>Group not found</h1>" in page
    assert sent == ["/v1.0/$batch"]
    assert {status for _, status in inside} == {404}


def test_a_folder_not_in_the_library_is_the_folder_404_page(user, emulator_graph):
    (site, *_) = links(user.get("/sites").get_data(as_text=True), "/sites/")
    (library, *_) = links(user.get(site).get_data(as_text=True), "/drives/")

    response, _, inside = view(user, emulator_graph, f"{library}No%20such%20folder")

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>Folder not found</h1>" in page
    assert f'href="{library}"' in page  # back to the library
    assert [status for _, status in inside] == [200, 404]


@pytest.fixture
def scripted(user, http_mock):
    """Adele, with Graph's answers scripted as GETs and batches answered from them."""
    answer_batches_from_gets(http_mock)
    return user


def test_a_request_in_a_batch_graph_refuses_this_user_is_the_access_denied_page(
    scripted, http_mock
):
    http_mock.get(f"{GRAPH}/groups/g-1", json={"displayName": "Sales"})
    http_mock.get(
        f"{GRAPH}/groups/g-1/members",
        status=403,
        json={"error": {"code": "Authorization_RequestDenied", "message": "Insufficient."}},
        headers={"request-id": "sub-403"},
    )

    response = scripted.get("/groups/g-1")

    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Not available to your account" in page
    assert "sub-403" in page


def test_a_claims_challenge_inside_a_batch_signs_the_user_in_again_with_its_claims(
    scripted, http_mock
):
    http_mock.get(
        f"{GRAPH}/organization",
        status=401,
        json=CAE_REJECTION,
        headers={"WWW-Authenticate": CHALLENGE},
    )
    http_mock.get(f"{GRAPH}/me/memberOf/microsoft.graph.directoryRole", json={"value": []})
    with scripted.session_transaction() as session:
        session["signed_in_at"] = 0  # long ago

    response = scripted.get("/directory")

    assert response.status_code == 302
    login = parse_qs(urlsplit(response.headers["Location"]).query)
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert login["next"] == ["/directory"]
    assert json.loads(login["claims"][0]) == json.loads(CLAIMS)


def test_a_throttled_request_is_retried_in_a_batch_of_its_own(scripted, http_mock):
    http_mock.get(f"{GRAPH}/drives/d1", json={"id": "d1", "name": "Documents"})
    children = f"{GRAPH}/drives/d1/root/children"
    http_mock.get(children, status=429, json=BUSY, headers={"Retry-After": "0"})
    http_mock.get(children, json={"value": [{"id": "i1", "name": "Plan.docx", "file": {}}]})

    response = scripted.get("/drives/d1/")

    sent = [r for r in outbound(http_mock.calls) if r.url.startswith(GRAPH)]
    assert response.status_code == 200
    assert "Plan.docx" in response.get_data(as_text=True)
    assert [f"{r.method} {urlsplit(r.url).path}" for r in sent] == ["POST /v1.0/$batch"] * 2
    retried = json.loads(sent[1].body)["requests"]
    assert [r["url"] for r in retried] == ["/drives/d1/root/children?$top=25"]
    assert len(batched(http_mock.calls)) == 3


def test_a_wait_that_would_pass_the_page_deadline_shows_the_busy_page_at_once(
    env, emulator, http_mock
):
    client = create_app(env | {"PAGE_DEADLINE": "2"}).test_client()
    emulator.grant_consent(ADELE, PAGE_PERMISSIONS)
    assert SignIn(client, emulator)().status_code == 303
    answer_batches_from_gets(http_mock)
    http_mock.get(f"{GRAPH}/organization", json={"value": [{"displayName": "Contoso"}]})
    roles = f"{GRAPH}/me/memberOf/microsoft.graph.directoryRole"
    throttled = http_mock.get(roles, status=503, json=BUSY, headers={"Retry-After": "3"})

    response = client.get("/directory")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert throttled.call_count == 1


# -- the batch client ----------------------------------------------------------------------


@pytest.fixture
def graph_mock():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def graph_client():
    client = GraphClient(GRAPH, user_agent="tests/1.0", cursor_key=b"k" * 32)
    yield client
    client.close()


def batch_answer(*answers: dict) -> dict:
    return {"responses": list(answers)}


def test_a_batch_sends_relative_urls_their_own_headers_and_the_token_once(graph_mock, graph_client):
    graph_mock.post(
        f"{GRAPH}/$batch",
        json=batch_answer(
            {"id": "2", "status": 200, "body": {"value": []}},
            {"id": "1", "status": 200, "headers": {}, "body": {"displayName": "Sales"}},
        ),
    )
    search = {"$search": '"displayName:Zoë Ó"', "$top": 5}
    found = graph_client.batch(
        TOKEN,
        {
            "group": GetRequest("/groups/g-1", {"$select": "displayName"}),
            "people": GetRequest("/users", search, {"ConsistencyLevel": "eventual"}),
        },
    )

    assert found.json("group") == {"displayName": "Sales"}
    assert found.page("people").items == []
    (call,) = graph_mock.calls
    assert call.request.url == f"{GRAPH}/$batch"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(call.request.body)["requests"]
    assert sent == [
        {"id": "1", "method": "GET", "url": "/groups/g-1?$select=displayName"},
        {
            "id": "2",
            "method": "GET",
            "url": "/users?$search=%22displayName%3AZo%C3%AB%20%C3%93%22&$top=5",
            "headers": {"ConsistencyLevel": "eventual"},
        },
    ]


def test_a_next_page_in_a_batch_is_graphs_next_link_made_relative(graph_mock, graph_client):
    next_link = f"{GRAPH}/groups/g-1/members?$top=10&$skiptoken=RFNwdAI"
    graph_mock.get(f"{GRAPH}/groups/g-1/members", json={"value": [], "@odata.nextLink": next_link})
    cursor = graph_client.page(TOKEN, "/groups/g-1/members").next_cursor
    graph_mock.post(
        f"{GRAPH}/$batch", json=batch_answer({"id": "1", "status": 200, "body": {"value": []}})
    )

    request = graph_client.page_request("/groups/g-1/members", cursor=cursor)
    graph_client.batch(TOKEN, {"members": request})

    (sent,) = json.loads(graph_mock.calls[-1].request.body)["requests"]
    assert sent["url"] == "/groups/g-1/members?$top=10&$skiptoken=RFNwdAI"
    with pytest.raises(ValueError):
        graph_client.page_request("/groups/g-2/members", cursor=cursor)


@pytest.mark.parametrize(
    "path", ["/groups/../users", "/groups/%2e%2e/x", "https://evil.example/v1.0/me", "/me\n"]
)
def test_a_batched_path_that_leaves_the_endpoint_is_refused_before_sending(
    graph_mock, graph_client, path
):
    with pytest.raises(ValueError):
        graph_client.batch(TOKEN, {"x": GetRequest(path)})
    assert not graph_mock.calls


def test_a_batch_holds_at_most_twenty_requests(graph_mock, graph_client):
    with pytest.raises(ValueError):
        graph_client.batch(TOKEN, {str(n): GetRequest("/me") for n in range(21)})
    assert not graph_mock.calls


def test_each_answer_raises_its_own_error(graph_mock, graph_client):
    graph_mock.post(
        f"{GRAPH}/$batch",
        json=batch_answer(
            {"id": "1", "status": 200, "body": {"displayName": "Sales"}},
            {
                "id": "2",
                "status": 404,
                "body": {
                    "error": {
                        "code": "Request_ResourceNotFound",
                        "message": "Gone.",
                        "innerError": {"request-id": "inner-404"},
                    }
                },
            },
            {"id": "3", "status": 429, "headers": {"Retry-After": "30"}, "body": BUSY},
        ),
        headers={"request-id": "batch-1"},
    )
    found = graph_client.batch(
        TOKEN, {"ok": GetRequest("/a"), "gone": GetRequest("/b"), "busy": GetRequest("/c")}
    )
    assert found.json("ok") == {"displayName": "Sales"}
    with pytest.raises(GraphNotFound) as gone:
        found.json("gone")
    assert (gone.value.code, gone.value.request_id) == ("Request_ResourceNotFound", "inner-404")
    with pytest.raises(GraphBusy) as busy:
        found.page("busy")
    assert (busy.value.retry_after, busy.value.request_id) == (30, "batch-1")
    assert len(graph_mock.calls) == 1  # a 30 s wait is not sat out


def test_a_batch_answer_missing_a_response_is_an_unusable_answer(graph_mock, graph_client):
    graph_mock.post(f"{GRAPH}/$batch", json=batch_answer({"id": "1", "status": 200, "body": {}}))
    with pytest.raises(GraphError) as raised:
        graph_client.batch(TOKEN, {"a": GetRequest("/a"), "b": GetRequest("/b")})
    assert (raised.value.status, raised.value.code) == (502, "invalid_response")


def test_a_batch_is_one_log_line_naming_its_requests_without_query_values(
    graph_mock, graph_client, caplog
):
    graph_mock.post(
        f"{GRAPH}/$batch",
        json=batch_answer(
            {"id": "1", "status": 200, "body": {}}, {"id": "2", "status": 404, "body": {}}
        ),
        headers={"request-id": "batch-7"},
    )
    with caplog.at_level(logging.INFO, logger="graph.client"):
        graph_client.batch(
            TOKEN,
            {
                "a": GetRequest("/users", {"$search": '"displayName:secret&leaked=name"'}),
                "b": GetRequest("/groups/g-1", {"$select": "displayName"}),
            },
        )
    (line,) = caplog.messages
    assert line.startswith("Graph POST /v1.0/$batch -> 200 in ")
    assert "request-id batch-7" in line
    assert "batched GET /users params=$search -> 200" in line
    assert "batched GET /groups/g-1 params=$select -> 404" in line
    assert "secret" not in caplog.text and "leaked" not in caplog.text
    assert TOKEN not in caplog.text


@pytest.fixture
def graph_server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "*")
    server = ScriptedGraph()
    yield server
    server.stop()


def test_a_throttled_request_waits_for_its_own_retry_after(graph_server):
    client = GraphClient(graph_server.url, user_agent="tests/1.0")
    graph_server.script(
        Reply(
            body=batch_answer(
                {"id": "1", "status": 200, "body": {"displayName": "Sales"}},
                {"id": "2", "status": 429, "headers": {"Retry-After": "1"}, "body": BUSY},
            )
        ),
        Reply(body=batch_answer({"id": "1", "status": 200, "body": {"value": []}})),
    )

    found = client.batch(TOKEN, {"group": GetRequest("/g"), "members": GetRequest("/g/m")})

    assert found.json("group") == {"displayName": "Sales"}
    assert found.page("members").items == []
    first, second = graph_server.seen
    assert second.at - first.at >= 1.0
    assert [r["url"] for r in json.loads(second.body)["requests"]] == ["/g/m"]
    client.close()


# -- photos: once per period per process ---------------------------------------------------


def fetch_photo(client, url: str) -> tuple[int, bytes]:
    """A photo as the browser gets it: status and bytes (the placeholder is a file)."""
    with client.get(url) as response:
        return response.status_code, response.data


def photo_ids(page: str) -> list[str]:
    return re.findall(r'src="/photo/([^"]+)"', page)


def photo_requests(emulator, since: float) -> list[str]:
    return [p for p in http_requests(emulator, since) if p.endswith("/photo/$value")]


def test_a_people_page_with_ten_photos_asks_graph_for_them_once(
    user, emulator_graph, token_endpoint
):
    since = emulator_graph.now()
    tokens_before = len(token_endpoint.calls())

    cold = user.get("/people").get_data(as_text=True)
    people = photo_ids(cold)
    cold_photos = [fetch_photo(user, f"/photo/{person}") for person in people]

    cold_calls = http_requests(emulator_graph, since)
    cold_tokens = len(token_endpoint.calls()) - tokens_before
    warm = user.get("/people").get_data(as_text=True)
    warm_photos = [fetch_photo(user, f"/photo/{person}") for person in photo_ids(warm)]

    assert len(people) == 10
    assert {status for status, _ in cold_photos + warm_photos} == {200}
    assert warm_photos == cold_photos
    # Cold: the list, ten photos (one person has none: a 404, kept too), and one token.
    assert len(cold_calls) == 11 and len(photo_requests(emulator_graph, since)) == 10
    assert cold_tokens == 1
    # Warm: the list only; no photo, no token.
    # What came after the cold requests (a time boundary would be a race: log times are coarse).
    assert http_requests(emulator_graph, since)[len(cold_calls) :] == ["/v1.0/users"]
    assert len(token_endpoint.calls()) - tokens_before == 1


def test_a_kept_photo_is_served_without_touching_the_token_cache(scripted_photos, http_mock):
    client, photo = scripted_photos
    assert client.get("/photo/u-megan").data == photo
    with client.session_transaction() as session:
        session["token_cache"] = "no key opens this"  # no token could be had now

    kept = client.get("/photo/u-megan")
    not_kept = client.get("/photo/u-nestor")

    assert (kept.status_code, kept.data) == (200, photo)
    assert not_kept.status_code == 302  # this one needs a token: sign in again
    assert urlsplit(not_kept.headers["Location"]).path == "/login"


@pytest.fixture
def scripted_photos(user, http_mock):
    """Adele, and Megan's photo (with an ETag) as Graph answers it; the photo's bytes."""
    photo = PNG + b"megan"
    http_mock.get(
        f"{GRAPH}/users/u-megan/photo/$value",
        body=photo,
        content_type="image/png",
        headers={"ETag": '"v1"'},
    )
    return user, photo


def graph_calls(http_mock, url: str) -> list:
    return [c.request for c in http_mock.calls if c.request.url == url]


MEGAN_PHOTO = f"{GRAPH}/users/u-megan/photo/$value"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(datetime.now(UTC), tick=False)
    return time_machine


def test_after_the_period_a_photo_is_revalidated_by_its_etag(clock, scripted_photos, http_mock):
    client, photo = scripted_photos
    http_mock.get(MEGAN_PHOTO, status=304, headers={"ETag": '"v1"'})
    assert client.get("/photo/u-megan").data == photo
    clock.shift(timedelta(minutes=14))
    assert client.get("/photo/u-megan").data == photo
    assert len(graph_calls(http_mock, MEGAN_PHOTO)) == 1  # within the period: kept

    clock.shift(timedelta(minutes=2))
    again = client.get("/photo/u-megan")
    clock.shift(timedelta(minutes=14))
    still = client.get("/photo/u-megan")

    first, second = graph_calls(http_mock, MEGAN_PHOTO)
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"v1"'
    assert (again.status_code, again.data) == (200, photo)  # the 304 kept the bytes
    assert still.data == photo  # and started another period


def test_a_photo_without_an_etag_is_fetched_again_after_the_period(clock, user, emulator_graph):
    (person, *_) = photo_ids(user.get("/people").get_data(as_text=True))
    since = emulator_graph.now()
    user.get(f"/photo/{person}")
    user.get(f"/photo/{person}")
    clock.shift(timedelta(minutes=16))
    refetched = user.get(f"/photo/{person}")

    assert refetched.status_code == 200
    assert photo_requests(emulator_graph, since) == [f"/v1.0/users/{person}/photo/$value"] * 2


def test_someone_without_a_photo_is_asked_about_once_too(user, http_mock):
    missing = f"{GRAPH}/users/u-alex/photo/$value"
    none = {"error": {"code": "ImageNotFound", "message": "No photo."}}
    http_mock.get(missing, status=404, json=none)
    for _ in range(3):
        with user.get("/photo/u-alex") as response:
            assert response.mimetype == "image/svg+xml"  # the placeholder
    assert len(graph_calls(http_mock, missing)) == 1


def test_the_cache_holds_at_most_four_megabytes_of_photos(user, http_mock):
    big = 1_500_000
    for person in ("u-a", "u-b", "u-c"):
        http_mock.get(
            f"{GRAPH}/users/{person}/photo/$value",
            body=PNG + person.encode() * (big // 3),
            content_type="image/png",
        )
    for person in ("u-a", "u-b", "u-c", "u-c", "u-a"):
        assert user.get(f"/photo/{person}").status_code == 200

    # u-a, u-b and u-c are 4.5 MB together: the oldest went, the newest stayed.
    assert len(graph_calls(http_mock, f"{GRAPH}/users/u-a/photo/$value")) == 2
    assert len(graph_calls(http_mock, f"{GRAPH}/users/u-c/photo/$value")) == 1


def test_a_signed_out_browser_gets_no_kept_photo(app, scripted_photos, http_mock):
    client, photo = scripted_photos
    assert client.get("/photo/u-megan").data == photo
    sign_out(client)

    after_sign_out = client.get("/photo/u-megan")
    stranger = app.test_client().get("/photo/u-megan")

    for response in (after_sign_out, stranger):
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/login"
        assert photo not in response.data
    assert len(graph_calls(http_mock, MEGAN_PHOTO)) == 1


def test_a_colleague_who_has_not_consented_gets_no_kept_photo(
    app, scripted_photos, emulator, http_mock
):
    client, photo = scripted_photos
    assert client.get("/photo/u-megan").data == photo
    grady = SignIn(app.test_client(), emulator)
    assert grady(user=GRADY).status_code == 303

    refused = grady.client.get("/photo/u-megan")

    assert refused.status_code == 302
    assert parse_qs(urlsplit(refused.headers["Location"]).query)["scope"] == ["User.ReadBasic.All"]
    assert photo not in refused.data
    # Once Grady has consented, Graph answers Grady once before the kept copy is his too.
    assert grady("/", user=GRADY, scope="User.ReadBasic.All").status_code == 303
    assert grady.client.get("/photo/u-megan").data == photo
    assert grady.client.get("/photo/u-megan").data == photo
    assert len(graph_calls(http_mock, MEGAN_PHOTO)) == 2


def test_a_refused_photo_is_kept_for_nobody_and_stops_serving_kept_ones(scripted_photos, http_mock):
    client, photo = scripted_photos
    guest = f"{GRAPH}/users/u-guest/photo/$value"
    denied = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient."}}
    http_mock.get(guest, status=403, json=denied)
    assert client.get("/photo/u-megan").data == photo

    for _ in range(2):
        with client.get("/photo/u-guest") as response:
            assert response.mimetype == "image/svg+xml"
    assert client.get("/photo/u-megan").data == photo

    assert len(graph_calls(http_mock, guest)) == 2  # not kept
    assert len(graph_calls(http_mock, MEGAN_PHOTO)) == 2  # Graph answers Adele again first


def test_your_own_photo_is_kept_for_you_alone(app, user, emulator, http_mock):
    mine = f"{GRAPH}/me/photo/$value"
    http_mock.get(mine, body=PNG + b"adele", content_type="image/png")
    http_mock.get(mine, body=PNG + b"grady", content_type="image/png")
    grady = SignIn(app.test_client(), emulator)
    assert grady(user=GRADY).status_code == 303

    assert user.get("/photo/me").data == PNG + b"adele"
    assert grady.client.get("/photo/me").data == PNG + b"grady"
    assert user.get("/photo/me").data == PNG + b"adele"
    assert len(graph_calls(http_mock, mine)) == 2
