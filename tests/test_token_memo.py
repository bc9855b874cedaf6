"""A repeat page view finds its access token without searching the token cache again.

The worker remembers the token MSAL found in a session's token cache for as long as
MSAL would answer it from that cache; these tests count MSAL's own cache look-ups (its
"Cache hit an AT" debug line) and check that a remembered token is never used past the
point MSAL would have renewed it, nor after Graph refused it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from app_helpers import sign_out

from auth.token_memo import TokenMemo

GRAPH = "https://graph.microsoft.com/v1.0"
ME = {"id": "00000000-0000-0000-0000-0000000000aa", "displayName": "Adele Vance"}


def msal_cache_look_ups(caplog) -> int:
    return sum(r.getMessage() == "Cache hit an AT" for r in caplog.records)


def graph_authorizations(http_mock) -> list[str]:
    """The Authorization header of each request Graph received, in order."""
    return [
        call.request.headers["Authorization"]
        for call in http_mock.calls
        if call.request.url.startswith(GRAPH)
    ]


def grants(token_endpoint, since: int) -> list[str]:
    return [call.form["grant_type"] for call in token_endpoint.calls()[since:]]


@pytest.fixture
def clock(time_machine):
    """Time that moves only when the test says; MSAL and the emulator read it too."""
    time_machine.move_to(datetime.now(UTC), tick=False)
    return time_machine


def test_repeat_views_search_the_token_cache_once(signed_in_client, http_mock, caplog):
    http_mock.get(f"{GRAPH}/me", json=ME)
    caplog.set_level(logging.DEBUG, logger="msal")
    for _ in range(5):
        assert signed_in_client.get("/graphcall").status_code == 200
    assert msal_cache_look_ups(caplog) == 1
    assert len(set(graph_authorizations(http_mock))) == 1  # the same token each time


def test_a_remembered_token_is_renewed_when_msal_would_renew_it(
    clock, client_sign_in, emulator, token_endpoint, http_mock
):
    http_mock.get(f"{GRAPH}/me", json=ME)
    emulator.set_access_token_lifetime(600)  # MSAL renews it 5 minutes before it expires
    assert client_sign_in().status_code == 303
    client = client_sign_in.client
    before = len(token_endpoint.calls())
    assert client.get("/graphcall").status_code == 200
    clock.shift(timedelta(seconds=290))
    assert client.get("/graphcall").status_code == 200
    assert grants(token_endpoint, before) == []
    clock.shift(timedelta(seconds=11))  # 301 s after sign-in: under 5 minutes left
    assert client.get("/graphcall").status_code == 200
    assert grants(token_endpoint, before) == ["refresh_token"]
    sent = graph_authorizations(http_mock)
    renewed = token_endpoint.calls()[-1].answer["access_token"]
    assert sent[-1] == f"Bearer {renewed}" != sent[0]


def test_a_token_graph_refused_is_not_used_again(signed_in_client, token_endpoint, http_mock):
    rejected = {"error": {"code": "InvalidAuthenticationToken", "message": "revoked"}}
    http_mock.get(f"{GRAPH}/me", json=ME)
    http_mock.get(f"{GRAPH}/me", json=rejected, status=401)
    http_mock.get(f"{GRAPH}/me", json=ME)
    assert signed_in_client.get("/graphcall").status_code == 200  # remembered from here on
    before = len(token_endpoint.calls())
    assert signed_in_client.get("/graphcall").headers["Location"] == "/graphcall"  # renewed
    assert signed_in_client.get("/graphcall").status_code == 200
    assert grants(token_endpoint, before) == ["refresh_token"]
    renewed = token_endpoint.calls()[-1].answer["access_token"]
    first, refused, after = graph_authorizations(http_mock)
    assert first == refused != after == f"Bearer {renewed}"


def test_a_signed_out_user_gets_no_remembered_token(signed_in_client, http_mock):
    http_mock.get(f"{GRAPH}/me", json=ME)
    assert signed_in_client.get("/graphcall").status_code == 200
    cookie = signed_in_client.get_cookie("session").value
    sign_out(signed_in_client)
    signed_in_client.set_cookie("session", cookie)  # the old cookie, replayed
    response = signed_in_client.get("/graphcall")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")
    assert len(graph_authorizations(http_mock)) == 1


def test_the_memo_keeps_the_most_recently_used_tokens_within_its_bound():
    memo = TokenMemo(max_entries=2)
    later = time.time() + 60
    memo.remember("a", "token-a", later)
    memo.remember("b", "token-b", later)
    assert memo.get("a") == "token-a"  # now b is the least recently used
    memo.remember("c", "token-c", later)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == ("token-a", None, "token-c")
    assert len(memo) == 2


def test_the_memo_forgets_a_token_once_it_is_no_longer_usable():
    memo = TokenMemo()
    memo.remember("a", "token-a", time.time() - 1)
    assert memo.get("a") is None
    assert len(memo) == 0


def test_a_new_sign_in_is_not_answered_with_the_previous_sessions_token(
    client_sign_in, token_endpoint, http_mock
):
    http_mock.get(f"{GRAPH}/me", json=ME)
    assert client_sign_in().status_code == 303
    assert client_sign_in.client.get("/graphcall").status_code == 200
    assert client_sign_in().status_code == 303  # signs in again: a new token cache
    assert client_sign_in.client.get("/graphcall").status_code == 200
    redeemed = [c.answer["access_token"] for c in token_endpoint.calls() if "code" in c.form]
    assert graph_authorizations(http_mock) == [f"Bearer {token}" for token in redeemed]
