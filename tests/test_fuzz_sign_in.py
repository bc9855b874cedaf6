"""Whatever a client sends to /login, the redirect URI or /logout: no 5xx, nothing kept.

Property-based (hypothesis): about 2,300 generated query strings, forms and cookies.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

FIELDS = [
    "code",
    "state",
    "error",
    "error_description",
    "error_subcode",
    "client_info",
    "session_state",
    "next",
    "scope",
    "claims",
    "csrf_token",
    "id_token",
]
# Text that stresses parsers: control characters, quotes, unicode, long runs.
TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "",
            "null",
            "{}",
            "[]",
            '{"a":',
            "%00",
            "..%2F",
            "//evil.example",
            "javascript:alert(1)",
            "\\\\evil",
            "a" * 5000,
            "\u202e",
            "\ud7ff",
        ]
    ),
)
PAIRS = st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(max_size=20), TEXT), max_size=8).map(
    MultiDict
)
COOKIES = st.dictionaries(
    st.sampled_from(["auth_flow", "auth_flow_legacy", "session", "signed_out"]),
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=';,"\\'),
        max_size=80,
    ),
    max_size=4,
)
CASES = settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _with_cookies(client, cookies: dict[str, str]) -> None:
    for name in ("auth_flow", "auth_flow_legacy", "session", "signed_out"):
        client.delete_cookie(name)
    for name, value in cookies.items():
        client.set_cookie(name, value)


def _kept(env) -> int:
    """Files in the session folder and in the pending sign-ins' folder beside it."""
    folders = (Path(env["SESSION_FILE_DIR"]), Path(env["SESSION_FILE_DIR"] + "_sign_ins"))
    return sum(1 for folder in folders for path in folder.rglob("*") if path.is_file())


@CASES
@given(pairs=PAIRS, cookies=COOKIES, method=st.sampled_from(["GET", "POST"]))
def test_a_forged_callback_never_fails_and_keeps_nothing(client, env, pairs, cookies, method):
    _with_cookies(client, cookies)
    before = _kept(env)
    if method == "POST":
        response = client.post("/getAToken", data=pairs)
    else:
        response = client.get("/getAToken", query_string=pairs)
    assert response.status_code < 500
    # No made-up response completes a sign-in: a failure leads to the redirect URI's page.
    assert response.status_code != 303 or response.headers["Location"] == "/getAToken"
    assert _kept(env) <= before  # at most a pending sign-in used up, nothing added


@CASES
@given(pairs=PAIRS, cookies=COOKIES)
def test_any_login_request_is_a_redirect_or_a_page_never_an_error(client, pairs, cookies):
    _with_cookies(client, cookies)
    response = client.get("/login", query_string=pairs)
    assert response.status_code < 500
    if response.status_code == 302:
        # Only ever to the identity provider.
        assert response.headers["Location"].startswith("https://login.microsoftonline.com/")


@CASES
@given(pairs=PAIRS, cookies=COOKIES, method=st.sampled_from(["GET", "POST"]))
def test_any_logout_request_is_answered_without_an_error(client, pairs, cookies, method):
    _with_cookies(client, cookies)
    if method == "POST":
        response = client.post("/logout", data=pairs)
    else:
        response = client.get("/logout", query_string=pairs)
    assert response.status_code < 500


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=PAIRS)
def test_a_real_pending_sign_in_answered_with_junk_is_refused_and_keeps_nothing(
    client_sign_in, env, pairs
):
    state = parse_qs(urlsplit(client_sign_in.start()).query)["state"][0]
    client = client_sign_in.client
    before = _kept(env)
    pairs["state"] = state
    response = client.post("/getAToken", data=pairs, follow_redirects=True)
    assert 400 <= response.status_code < 500
    assert _kept(env) == before - 1  # the pending sign-in is used up; no session is written
    assert "Welcome," not in client.get("/").get_data(as_text=True)
