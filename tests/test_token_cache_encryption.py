"""The token cache at rest: no usable token in the session store, keys that rotate, and a
cache that cannot be read meaning "sign in again", never an error page.

What the store holds is read as an attacker would: the session files' bytes, or every
value in Redis (a real redis-server). The tokens looked for are the ones the emulator's
token endpoint answered with.
"""

from __future__ import annotations

import pickle
import re
from urllib.parse import urlsplit

import pytest
import redis
from app_helpers import ADELE, SignIn
from cryptography.fernet import Fernet, InvalidToken
from redis_server import redis_server_fixture  # noqa: F401 - the redis_server fixture

from app import create_app
from app_config import load_settings

# The session's key for MSAL's cache, as the store shows it to anyone who reads it.
CACHE_FIELD = "token_cache"  # noqa: S105 - a field name, not a secret
# Every page group's delegated permission (User.Read comes with sign-in).
PAGE_PERMISSIONS = (
    "User.ReadBasic.All",
    "Group.Read.All",
    "Directory.AccessAsUser.All",
    "Files.Read",
    "Files.Read.All",
    "Sites.Read.All",
)
PAGES = ("/graphcall", "/photo/me", "/people", "/groups", "/directory", "/files/")
PAGES += ("/search?q=budget", "/sites")


def issued_tokens(token_endpoint) -> set[str]:
    """Every access, refresh and ID token the token endpoint has answered with so far."""
    kinds = ("access_token", "refresh_token", "id_token")
    return {c.answer[k] for c in token_endpoint.calls() for k in kinds if k in c.answer}


@pytest.fixture(params=["files", "redis"])
def store(request, env, tmp_path):
    """The session store's raw contents, as bytes, with file sessions or with Redis."""
    if request.param == "files":
        folders = [tmp_path / "sessions", tmp_path / "sessions_sign_ins"]
        return env, lambda: [p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file()]
    server = request.getfixturevalue("redis_server")
    direct = redis.Redis.from_url(server.url)
    request.addfinalizer(direct.close)

    def values() -> list[bytes]:
        # Every key the app writes is a string (GET, not DUMP: DUMP may compress).
        return [direct.get(key) or b"" for key in direct.scan_iter()]

    return env | {"SESSION_TYPE": "redis", "REDIS_URL": server.url}, values


def test_a_reader_of_the_session_store_finds_none_of_the_users_tokens(
    store, emulator_graph, token_endpoint
):
    environment, raw_values = store
    app = create_app(environment)
    sign_in = SignIn(app.test_client(), emulator_graph)
    emulator_graph.set_access_token_lifetime(60)  # MSAL counts it expired: the page refreshes
    assert sign_in().status_code == 303
    page = sign_in.client.get("/graphcall")
    assert page.status_code == 200 and "Adele Vance" in page.text
    grants = [call.form["grant_type"] for call in token_endpoint.calls()]
    assert grants == ["authorization_code", "refresh_token"]

    stored = raw_values()
    assert any(b"Adele Vance" in value for value in stored)  # the store was read
    for token in issued_tokens(token_endpoint):
        assert not any(token.encode() in value for value in stored)
        # Not in pieces either: the refresh token's middle third, say.
        third = len(token) // 3
        assert not any(token[third : 2 * third].encode() in value for value in stored)
    if app.session_interface.redis_client is not None:
        app.session_interface.close()


# --- A cache that cannot be read ---------------------------------------------------------


def stored_session(app, client) -> tuple[str, dict]:
    """Where the store keeps this client's session, and the record kept there."""
    key = app.session_interface.key_prefix + client.get_cookie("session").value
    return key, app.session_interface.cache.get(key)


def flip_one_character(sealed: str) -> str:
    middle = len(sealed) // 2
    return sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]


def sealed_under_another_key(sealed: str, key: str) -> str:
    return Fernet(Fernet.generate_key()).encrypt(Fernet(key).decrypt(sealed)).decode()


UNREADABLE = {
    "altered": lambda sealed, key: flip_one_character(sealed),
    "truncated": lambda sealed, key: sealed[: len(sealed) // 2],
    "sealed under a key the app does not have": sealed_under_another_key,
    "in the clear, as before encryption": lambda sealed, key: Fernet(key).decrypt(sealed).decode(),
    "not text": lambda sealed, key: ["not", "a", "cache"],
    "not ASCII": lambda sealed, key: "gAAAAA\u00e9" + sealed[7:],
}


@pytest.mark.parametrize("damage", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_cache_that_cannot_be_read_means_signing_in_again_not_an_error(
    app, env, client_sign_in, emulator_graph, damage, caplog
):
    client = client_sign_in.client
    assert client_sign_in().status_code == 303
    key, record = stored_session(app, client)
    record[CACHE_FIELD] = damage(record[CACHE_FIELD], env["TOKEN_CACHE_KEY"])
    app.session_interface.cache.set(key, record)
    caplog.clear()

    response = client.get("/graphcall")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert "token cache unreadable" in caplog.text
    assert "Traceback" not in caplog.text
    # The way back: sign in again, and the page works.
    authorize = client.get(response.headers["Location"]).headers["Location"]
    form = emulator_graph.sign_in(authorize, ADELE)
    assert client.post("/getAToken", data=form).status_code == 303
    assert "Adele Vance" in client.get("/graphcall").text


# --- Rotation -------------------------------------------------------------------------------


@pytest.fixture
def keys() -> dict[str, str]:
    return {"A": Fernet.generate_key().decode(), "B": Fernet.generate_key().decode()}


def restarted(env, keys, names: str):
    """The app started again on the same session store with TOKEN_CACHE_KEY=NAMES ("B,A")."""
    return create_app(env | {"TOKEN_CACHE_KEY": ",".join(keys[n] for n in names.split(","))})


def sealed_cache(app, cookie: str) -> str:
    return app.session_interface.cache.get(app.session_interface.key_prefix + cookie)[CACHE_FIELD]


def test_a_new_key_first_keeps_everyone_signed_in_and_the_next_write_uses_it(
    env, keys, emulator_graph, token_endpoint
):
    first = restarted(env, keys, "A")
    sign_in = SignIn(first.test_client(), emulator_graph)
    emulator_graph.set_access_token_lifetime(60)  # the next page view refreshes: a write
    assert sign_in().status_code == 303
    cookie = sign_in.client.get_cookie("session").value
    Fernet(keys["A"]).decrypt(sealed_cache(first, cookie))

    rotating = restarted(env, keys, "B,A").test_client()
    rotating.set_cookie("session", cookie)
    assert "Adele Vance" in rotating.get("/graphcall").text
    assert [c.form["grant_type"] for c in token_endpoint.calls()][-1] == "refresh_token"
    after_refresh = sealed_cache(first, cookie)
    Fernet(keys["B"]).decrypt(after_refresh)
    with pytest.raises(InvalidToken):
        Fernet(keys["A"]).decrypt(after_refresh)

    # Key A retired: the session, rewritten under B, still works without a sign-in.
    retired = restarted(env, keys, "B").test_client()
    retired.set_cookie("session", cookie)
    assert "Adele Vance" in retired.get("/graphcall").text


def test_a_cache_sealed_only_under_a_retired_key_asks_for_sign_in_again(env, keys, emulator_graph):
    sign_in = SignIn(restarted(env, keys, "A").test_client(), emulator_graph)
    assert sign_in().status_code == 303
    cookie = sign_in.client.get_cookie("session").value

    after = restarted(env, keys, "B")
    sign_in_again = SignIn(after.test_client(), emulator_graph)
    sign_in_again.client.set_cookie("session", cookie)
    response = sign_in_again.client.get("/graphcall")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert sign_in_again("/graphcall").status_code == 303
    assert "Adele Vance" in sign_in_again.client.get("/graphcall").text


# --- Settings ----------------------------------------------------------------------------


def problems_for(env: dict[str, str]) -> dict[str, str]:
    return {p.variable: p.message for p in load_settings(env)[1]}


def test_in_production_a_missing_key_is_a_configuration_problem_saying_how_to_make_one(env):
    del env["TOKEN_CACHE_KEY"]
    problem = problems_for(env)["TOKEN_CACHE_KEY"]
    assert "missing" in problem and "Fernet.generate_key()" in problem
    page = create_app(env).test_client().get("/")
    assert page.status_code == 503 and "TOKEN_CACHE_KEY" in page.text


@pytest.mark.parametrize(
    ("value", "which"),
    [
        ("not-a-key", "the key"),
        ("c2hvcnQ=", "the key"),  # base64, but 5 bytes
        ("{good}, not-a-key", "key 2 of 2"),
        ("not-a-key,{good}", "key 1 of 2"),
        ("{good},", "key 2 of 2"),
    ],
)
def test_a_malformed_key_is_named_by_its_place_in_the_list_never_shown(env, value, which):
    env["TOKEN_CACHE_KEY"] = value.format(good=Fernet.generate_key().decode())
    problem = problems_for(env)["TOKEN_CACHE_KEY"]
    assert problem.startswith(which)
    page = create_app(env).test_client().get("/").text
    for part in (p.strip() for p in env["TOKEN_CACHE_KEY"].split(",")):
        if part:
            assert part not in problem and part not in page


def test_in_development_without_a_key_a_random_one_is_used_with_a_warning(
    env, emulator_graph, caplog
):
    development = {k: v for k, v in env.items() if k != "TOKEN_CACHE_KEY"} | {"FLASK_DEBUG": "1"}
    assert "TOKEN_CACHE_KEY" not in problems_for(development)
    sign_in = SignIn(create_app(development).test_client(), emulator_graph)
    assert "TOKEN_CACHE_KEY is not set" in caplog.text
    assert sign_in().status_code == 303
    assert "Adele Vance" in sign_in.client.get("/graphcall").text


# --- Size -----------------------------------------------------------------------------------


def test_a_session_with_every_pages_tokens_stays_small(env, emulator_graph, capsys):
    """Prints the stored session's size with the cache sealed, and as it was in the clear."""
    emulator_graph.grant_consent(ADELE, PAGE_PERMISSIONS)
    app = create_app(env)
    sign_in = SignIn(app.test_client(), emulator_graph)
    assert sign_in().status_code == 303
    groups = sign_in.client.get("/groups").text
    group_page = re.search(r'href="(/groups/[^"?]+)"', groups).group(1)
    for path in (*PAGES, group_page):
        assert sign_in.client.get(path).status_code == 200, path

    _, record = stored_session(app, sign_in.client)
    sealed = record[CACHE_FIELD]
    clear = Fernet(env["TOKEN_CACHE_KEY"]).decrypt(sealed).decode()
    # What either store writes is the pickled record (plus 4 bytes of expiry, or 1 of type).
    stored = len(pickle.dumps(record))
    before = len(pickle.dumps(record | {CACHE_FIELD: clear}))  # the cache in the clear
    with capsys.disabled():
        print(
            f"\nsession of a user with every page consented: {stored} bytes "
            f"({before} with the cache in the clear); token cache {len(sealed)} bytes "
            f"sealed, {len(clear)} in the clear"
        )
    assert len(sealed) < 1.4 * len(clear) + 100  # Fernet: base64 of the ciphertext, 57 more
    assert stored < 16 * 1024  # about twice what it is
