"""POST /search/query: hits shaped as the Search API returns them, pages and folders too."""

from __future__ import annotations

import pytest
from emulator_helpers import TIMEOUT, inprocess_token


@pytest.fixture
def search(emulator):
    token = inprocess_token(emulator, ["Files.Read.All"])
    http = emulator.http_client()

    def post(query: str, start: int = 0, size: int = 25) -> dict:
        body = {
            "requests": [
                {
                    "entityTypes": ["driveItem"],
                    "query": {"queryString": query},
                    "from": start,
                    "size": size,
                }
            ]
        }
        answer = http.post(
            f"{emulator.graph_endpoint}/search/query",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        (container,) = answer.json()["value"][0]["hitsContainers"]
        return container

    return post


def by_name(container: dict) -> dict[str, dict]:
    return {hit["resource"]["name"]: hit for hit in container["hits"]}


def test_a_hit_is_shaped_like_the_docs_example(search):
    hit = by_name(search("quarterly"))["Quarterly report Q3.docx"]
    assert set(hit) == {"hitId", "rank", "summary", "resource"}
    assert hit["summary"] == "<c0>Quarterly</c0> report Q3.docx <ddd/>"
    resource = hit["resource"]
    assert resource["@odata.type"] == "#microsoft.graph.driveItem"
    assert resource["webUrl"].startswith("https://")
    assert set(resource["parentReference"]) == {"siteId", "driveId", "id"}
    assert resource["fileSystemInfo"] == {
        "createdDateTime": resource["createdDateTime"],
        "lastModifiedDateTime": resource["lastModifiedDateTime"],
    }
    assert resource["createdBy"]["user"]["displayName"] == "Adele Vance"
    assert "displayName" in resource["lastModifiedBy"]["user"]
    assert "file" not in resource and "folder" not in resource


def test_size_file_and_folder_are_not_guaranteed(search):
    # Every indexed name has a word starting with some letter.
    resources = [h["resource"] for t in "abcdefghijklmnopqrstuvwxyz" for h in search(t)["hits"]]
    assert not [r for r in resources if "file" in r or "folder" in r]
    with_size = {r["name"] for r in resources if "size" in r}
    without = {r["name"] for r in resources if "size" not in r}
    assert with_size and without - {"Home.aspx"}


def test_folders_and_sharepoint_pages_are_among_the_hits(search):
    hits = by_name(search("campaign"))
    assert {"Campaigns", "Spring campaign brief.docx", "Spring campaign kickoff.aspx"} <= set(hits)
    page = hits["Spring campaign kickoff.aspx"]["resource"]
    assert "/sites/marketing/SitePages/" in page["webUrl"]
    assert "size" not in page
    assert "Home.aspx" in by_name(search("home"))


def test_terms_match_whole_words_by_prefix_not_text_inside_words(search):
    assert search("port")["total"] == 0
    assert {"Quarterly report Q3.docx", "Report template.docx"} <= set(by_name(search("rep")))
    assert set(by_name(search("q3 engineering"))) == {"Quarterly report Q3 engineering.docx"}


def test_paging_with_from_and_size(search):
    everything = search("quarterly")
    first, second = search("quarterly", 0, 2), search("quarterly", 2, 2)
    assert first["total"] == second["total"] == everything["total"] == 3
    assert first["moreResultsAvailable"] is True and second["moreResultsAvailable"] is False
    assert [h["rank"] for h in first["hits"] + second["hits"]] == [1, 2, 3]
    assert [h["hitId"] for h in first["hits"] + second["hits"]] == [
        h["hitId"] for h in everything["hits"]
    ]


def test_one_search_request_per_call(emulator):
    token = inprocess_token(emulator, ["Files.Read.All"])
    one = {"entityTypes": ["driveItem"], "query": {"queryString": "budget"}}
    answer = emulator.http_client().post(
        f"{emulator.graph_endpoint}/search/query",
        json={"requests": [one, one]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
