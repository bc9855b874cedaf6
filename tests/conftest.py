"""Fixtures: the app built from a test config, and the emulator as its identity provider.

One entra_emulator per session, in-process (no socket) and reset before each test, answers
as https://login.microsoftonline.com through `responses`, so MSAL's own requests.Session
inside the app reaches it unpatched. Graph is not routed to it: each test scripts Graph's
answers with http_mock, or routes Graph to the emulator itself (emulator_graph).

responses answers with the first registration that matches, and where several match, the
first is dropped once it has answered (that is how repeated registrations become a
sequence; test_fixtures.py pins it down). So a test that changes a login-host answer
replaces the emulator's registration (http_mock.replace) instead of adding one beside it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import entra_emulator
import pytest
import requests
import responses
from app_helpers import LOGIN, SignIn
from cryptography.fernet import Fernet

from app import create_app

REDIRECT_URI = "http://localhost/getAToken"  # where the Flask test client's app answers
GRAPH_HOST = re.compile(r"https://graph\.microsoft\.com/")


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[entra_emulator.Emulator]:
    with entra_emulator.start(listen=False, redirect_uris=[REDIRECT_URI]) as emulator:
        yield emulator


@pytest.fixture
def http_mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def emulator(emulator_session, http_mock) -> entra_emulator.Emulator:
    """The seeded emulator, answering the login host's URLs through http_mock."""
    emulator_session.reset()
    for method in (responses.GET, responses.POST):
        http_mock.add_callback(method, LOGIN, callback=emulator_session.responses_callback)
    return emulator_session


@pytest.fixture
def emulator_graph(emulator, http_mock) -> entra_emulator.Emulator:
    """The emulator answers Graph too: for tests of real tokens against a real resource."""
    for method in (responses.GET, responses.POST):
        http_mock.add_callback(method, GRAPH_HOST, callback=emulator.responses_callback)
    return emulator


@pytest.fixture
def env(tmp_path, emulator_session) -> dict[str, str]:
    """The environment the app is configured from; tests may change it first."""
    return {
        "CLIENT_ID": emulator_session.client_id,
        "CLIENT_SECRET": emulator_session.client_secret,
        "TENANT_ID": emulator_session.tenant_id,
        "SECRET_KEY": "unit-test-secret-key-0123456789abcdef",
        "TOKEN_CACHE_KEY": Fernet.generate_key().decode(),
        "SESSION_FILE_DIR": str(tmp_path / "sessions"),
        "REDIRECT_URI": REDIRECT_URI,
    }


@pytest.fixture
def app(env, emulator):
    return create_app(env)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass(frozen=True)
class TokenCall:
    """One request to the token endpoint: the form posted and the JSON answered."""

    form: dict[str, str]
    answer: dict


class TokenEndpoint:
    """The app's calls to the emulator's token endpoint, as `responses` saw them."""

    def __init__(self, http_mock: responses.RequestsMock, emulator: entra_emulator.Emulator):
        self.http_mock = http_mock
        self.emulator = emulator

    def calls(self) -> list[TokenCall]:
        return [
            TokenCall(_form(call.request.body), call.response.json())
            for call in self.http_mock.calls
            if _is_token_request(call.request) and isinstance(call.response, requests.Response)
        ]

    def script(self, **answer) -> None:
        """From now on this answers the token endpoint (and any POST to the login host) instead
        of the emulator: responses.add's keywords (status, json, body)."""
        self.http_mock.replace(responses.POST, LOGIN, **answer)

    def refuse_connections(self) -> None:
        """From now on the token endpoint cannot be reached."""
        self.script(body=requests.ConnectionError("refused"))

    def tamper_id_tokens(self, claims: dict, *, code: str | None = None) -> None:
        """From now on the ID tokens it answers with (for CODE's redemption only, if given)
        carry CLAIMS instead: the emulator's header and signature on an altered payload, which
        MSAL accepts as it does not check the signature of a token it fetched itself. Replaces
        any earlier tampering."""

        def answer(request):
            status, headers, body = self.emulator.responses_callback(request)
            if not _is_token_request(request) or status != 200:
                return status, headers, body
            if code is not None and _form(request.body).get("code") != code:
                return status, headers, body
            tokens = json.loads(body)
            tokens["id_token"] = _with_claims(tokens["id_token"], claims)
            body = json.dumps(tokens).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            return status, [*headers, ("Content-Length", str(len(body)))], body

        self.http_mock.replace(responses.CallbackResponse(responses.POST, LOGIN, callback=answer))


def _is_token_request(request) -> bool:
    return request.method == "POST" and urlsplit(request.url).path.endswith("/token")


def _form(body: str | bytes | None) -> dict[str, str]:
    if isinstance(body, bytes):
        body = body.decode()
    return dict(parse_qsl(body or ""))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_claims(token: str, claims: dict) -> str:
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return ".".join([header, _b64url(json.dumps({**decoded, **claims}).encode()), signature])


@pytest.fixture
def token_endpoint(http_mock, emulator) -> TokenEndpoint:
    return TokenEndpoint(http_mock, emulator)


@pytest.fixture
def client_sign_in(client, emulator) -> SignIn:
    """Signs `client` in through the emulator; call it, or use .start() for the first leg."""
    return SignIn(client, emulator)


@pytest.fixture
def signed_in_client(client_sign_in):
    """A test client whose user (Adele Vance) has signed in through the emulator."""
    response = client_sign_in()
    assert response.status_code == 303
    return client_sign_in.client
