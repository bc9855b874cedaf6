"""Graph v1.0: auth, scopes, paging, search, files, faults and the control API."""

from __future__ import annotations

import pytest
from emulator_helpers import TIMEOUT, make_app, sign_in

BROAD = [
    "User.Read",
    "User.ReadBasic.All",
    "Directory.Read.All",
    "Group.Read.All",
    "Files.Read.All",
    "Sites.Read.All",
]


@pytest.fixture(scope="module")
def tokens(entra_emulator_session):
    """Access tokens for one user with broad permissions and one with User.Read only."""
    broad = sign_in(make_app(entra_emulator_session), BROAD, upn="patti@contoso.example")
    narrow = sign_in(make_app(entra_emulator_session), ["User.Read"], upn="grady@contoso.example")
    return {"broad": broad["access_token"], "narrow": narrow["access_token"]}


@pytest.fixture
def graph(entra_emulator_session, ca_trusting_session, tokens):
    def get(path, token="broad", **kwargs):
        headers = {
            "Authorization": f"Bearer {tokens.get(token, token)}",
            **kwargs.pop("headers", {}),
        }
        url = path if path.startswith("https://") else entra_emulator_session.graph_endpoint + path
        return ca_trusting_session.get(url, headers=headers, timeout=TIMEOUT, **kwargs)

    return get


def test_me_returns_the_signed_in_user_with_graph_headers(graph):
    response = graph("/me", headers={"client-request-id": "abc-123"})
    assert response.status_code == 200
    assert response.json()["userPrincipalName"] == "patti@contoso.example"
    assert response.json()["@odata.context"].endswith("$metadata#users/$entity")
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
def test_malformed_token_is_401(graph, token):
    response = graph("/me", token=token)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()


def test_missing_scope_is_403(graph):
    response = graph("/users", token="narrow")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    assert graph("/organization", token="narrow").status_code == 403


def test_users_are_paged_with_next_link(graph):
    first = graph("/users", params={"$top": "5", "$select": "displayName,department"}).json()
    assert len(first["value"]) == 5
    assert set(first["value"][0]) == {"displayName", "department"}
    names = [u["displayName"] for u in first["value"]]
    link = first["@odata.nextLink"]
    while link:
        page = graph(link).json()
        names += [u["displayName"] for u in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(names) == len(set(names)) == 15  # members and the guest; no personal accounts
    assert graph("/users", params={"$top": "1000"}).status_code == 400


def test_user_search_needs_consistency_level(graph):
    search = {"$search": '"displayName:zoe"'}
    refused = graph("/users", params=search)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    found = graph("/users", params=search, headers={"ConsistencyLevel": "eventual"}).json()
    assert [u["displayName"] for u in found["value"]] == ["Zoë Ðorđević"]
    by_mail = graph(
        "/users", params={"$search": '"mail:jose"'}, headers={"ConsistencyLevel": "eventual"}
    ).json()
    assert [u["displayName"] for u in by_mail["value"]] == ["José Álvarez"]


def test_user_search_terms_may_contain_or(graph):
    eventual = {"ConsistencyLevel": "eventual"}
    either = graph(
        "/users", params={"$search": '"displayName:zoe" OR "mail:jose"'}, headers=eventual
    )
    assert {u["displayName"] for u in either.json()["value"]} == {"Zoë Ðorđević", "José Álvarez"}
    literal = graph("/users", params={"$search": '"displayName:a OR b"'}, headers=eventual)
    assert literal.status_code == 200 and literal.json()["value"] == []


def test_groups_members_roles_and_organization(graph):
    groups = graph("/groups").json()["value"]
    everyone = next(g for g in groups if g["displayName"] == "All Company")
    members = graph(f"/groups/{everyone['id']}/members", params={"$top": "20"}).json()
    assert len(members["value"]) == 13
    member_of = graph("/me/memberOf").json()["value"]
    kinds = {m["@odata.type"] for m in member_of}
    assert kinds == {"#microsoft.graph.group", "#microsoft.graph.directoryRole"}
    roles = graph("/me/memberOf/microsoft.graph.directoryRole").json()["value"]
    assert [r["displayName"] for r in roles] == ["Global Administrator"]
    org = graph("/organization").json()["value"][0]
    assert any(d["isDefault"] for d in org["verifiedDomains"])


def test_photos(graph):
    photo = graph("/me/photo/$value")
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
    grady = graph("/users/grady@contoso.example/photo/$value")
    assert grady.status_code == 404
    assert grady.json()["error"]["code"] == "ImageNotFound"


def test_drive_items_and_download_url_without_auth(graph, ca_trusting_session):
    root = graph("/me/drive/root/children").json()["value"]
    documents = next(i for i in root if i["name"] == "Documents")
    children = graph(f"/me/drive/items/{documents['id']}/children").json()["value"]
    report = next(i for i in children if "file" in i)
    item = graph(f"/me/drive/items/{report['id']}").json()
    url = item["@microsoft.graph.downloadUrl"]
    assert url.startswith("http://127.0.0.1:")
    download = ca_trusting_session.get(url, timeout=TIMEOUT)  # no Authorization header
    assert download.status_code == 200
    assert len(download.content) == item["size"]
    assert "attachment" in download.headers["Content-Disposition"]
    assert ca_trusting_session.get(url[:-3] + "xyz", timeout=TIMEOUT).status_code == 404


def test_sites_libraries_and_search(graph, entra_emulator_session, ca_trusting_session, tokens):
    sites = graph("/sites", params={"search": "market"}).json()["value"]
    assert [s["displayName"] for s in sites] == ["Marketing"]
    drives = graph(f"/sites/{sites[0]['id']}/drives").json()["value"]
    assert {d["name"] for d in drives} == {"Documents", "Brand Assets"}
    assert graph(f"/drives/{drives[0]['id']}/root/children").status_code == 200
    body = {
        "requests": [
            {
                "entityTypes": ["driveItem"],
                "query": {"queryString": "quarterly"},
                "from": 0,
                "size": 25,
            }
        ]
    }
    result = ca_trusting_session.post(
        f"{entra_emulator_session.graph_endpoint}/search/query",
        json=body,
        timeout=TIMEOUT,
        headers={"Authorization": f"Bearer {tokens['broad']}"},
    ).json()
    container = result["value"][0]["hitsContainers"][0]
    names = {h["resource"]["name"] for h in container["hits"]}
    assert names == {
        "Quarterly report Q3.docx",
        "Quarterly report Q3 engineering.docx",
        "Quarterly engineering update.aspx",  # a SharePoint page
    }
    assert container["total"] == 3 and container["moreResultsAvailable"] is False


def test_unknown_segment_is_400(graph):
    response = graph("/nonsense")
    assert response.status_code == 400
    assert "nonsense" in response.json()["error"]["message"]


def test_injected_429_then_success_and_counters(entra_emulator_session, ca_trusting_session, graph):
    ca_trusting_session.post(
        f"{entra_emulator_session.control_url}/counters/reset", timeout=TIMEOUT
    )
    ca_trusting_session.post(
        f"{entra_emulator_session.control_url}/faults",
        json={"status": 429, "count": 1, "retry_after": 2},
        timeout=TIMEOUT,
    )
    throttled = graph("/me")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert graph("/me").status_code == 200
    counters = ca_trusting_session.get(
        f"{entra_emulator_session.control_url}/counters", timeout=TIMEOUT
    ).json()
    assert counters["graph"] == 2
    assert counters["graph_paths"] == {"/v1.0/me": 2}


def test_drive_items_by_path(graph):
    children = graph("/me/drive/root:/documents:/children")
    assert children.status_code == 200
    names = {item["name"] for item in children.json()["value"]}
    assert "Projects" in names
    folder = graph("/me/drive/root:/Documents/Projects:")
    assert folder.status_code == 200 and folder.json()["name"] == "Projects"
    assert graph("/me/drive/root:/Documents/nope:/children").status_code == 404


def test_member_of_cast_to_groups_lists_only_groups(graph):
    response = graph("/me/memberOf/microsoft.graph.group")
    assert response.status_code == 200
    values = response.json()["value"]
    assert values and all("groupTypes" in v for v in values)
    assert "Global Administrator" not in {v["displayName"] for v in values}


def test_site_with_expanded_drives(graph):
    site_id = graph("/sites", params={"search": "Marketing"}).json()["value"][0]["id"]
    response = graph(f"/sites/{site_id}", params={"$expand": "drives"})
    assert response.status_code == 200
    assert [d["name"] for d in response.json()["drives"]]
