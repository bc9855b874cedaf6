"""$search on users and groups, tokenized as Graph documents it."""

from __future__ import annotations

import pytest
from emulator_helpers import TIMEOUT, inprocess_token
from entra_emulator.graph.search_syntax import tokens

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def search(emulator):
    """GET a collection with $search and ConsistencyLevel: eventual, as a signed-in admin."""
    token = inprocess_token(emulator, ["User.ReadBasic.All", "Group.Read.All"])
    http = emulator.http_client()

    def get(collection: str, expression: str, headers=EVENTUAL):
        return http.get(
            f"{emulator.graph_endpoint}/{collection}",
            params={"$search": expression},
            headers={"Authorization": f"Bearer {token}", **headers},
            timeout=TIMEOUT,
        )

    return get


def names(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {entry["displayName"] for entry in response.json()["value"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # the examples of Graph's search-query-parameter page
        ("hello world", ["hello", "world"]),
        ("HelloWorld", ["hello", "world"]),
        ("helloWORLD", ["hello", "world"]),
        ("HELLOworld", ["helloworld"]),
        ("HelloWORld", ["hello", "world"]),
        ("hello.world", ["hello", ".", "world", "helloworld"]),
        ("hello123world", ["hello", "123", "world"]),
        ("李四(David Li)", ["李四", "(", "david", "李四david", "li", ")"]),
    ],
)
def test_tokens_follow_graphs_examples(text, expected):
    assert tokens(text) == expected


def test_display_name_tokens_match_by_prefix_in_any_order(search):
    assert names(search("users", '"displayName:vance adele"')) == {"Adele Vance"}
    assert names(search("users", '"displayName:ad"')) == {"Adele Vance"}
    assert names(search("users", '"displayName:ele"')) == set()  # no "contains" logic
    assert names(search("users", '"displayName:ÐOR zo"')) == {"Zoë Ðorđević"}


def test_mail_and_upn_match_the_whole_value_by_starts_with(search):
    assert names(search("users", '"mail:contoso"')) == set()
    assert names(search("users", '"mail:Adele@Contoso"')) == {"Adele Vance"}
    assert names(search("users", '"userPrincipalName:megan@"')) == {"Megan Bowen"}


def test_symbols_numbers_and_case_changes_split_display_names(emulator, search):
    emulator.add_user("hw@contoso.example", "HelloWorld42 O'Brien")
    for text in ("world", "42 hello", "obrien", "brien", "o'brien"):
        assert names(search("users", f'"displayName:{text}"')) == {"HelloWorld42 O'Brien"}, text


def test_and_binds_tighter_than_or_and_parentheses_group(search):
    either = '"displayName:design" OR "displayName:sales" AND "description:team"'
    assert names(search("groups", either)) == {"Design Guild", "Sales and Marketing"}
    grouped = '("displayName:design" OR "displayName:sales") AND "description:team"'
    assert names(search("groups", grouped)) == {"Sales and Marketing"}
    assert names(search("groups", '"description:builders"')) == {"Engineering"}


def test_escaped_quotes_belong_to_the_clause(emulator, search):
    emulator.add_user("q@contoso.example", 'Quinn "Q" Quartz')
    assert names(search("users", r'"displayName:\"q\""')) == {'Quinn "Q" Quartz'}


@pytest.mark.parametrize(
    "expression",
    [
        "adele",  # not quoted
        '"adele"',  # no property
        '"jobTitle:x" OR',
        '("displayName:a"',
        '"displayName:a" "displayName:b"',
        '"displayName:a" and "displayName:b"',  # operators are upper case
        '"nonsense:a"',
    ],
)
def test_malformed_search_is_400(search, expression):
    refused = search("users", expression)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_group_search_needs_consistency_level_too(search):
    refused = search("groups", '"displayName:design"', headers={})
    assert refused.status_code == 400
    assert "ConsistencyLevel: eventual" in refused.json()["error"]["message"]
