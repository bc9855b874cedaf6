"""Fixtures: the app built from a test config, and a scripted IdP + Graph."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import responses
from fake_idp import ADELE, CLIENT_ID, TENANT_ID, Account, FakeIdP

from app import create_app


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """The environment the app is configured from; tests may change it first."""
    return {
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": "unit-test-client-secret",
        "TENANT_ID": TENANT_ID,
        "SECRET_KEY": "unit-test-secret-key-0123456789abcdef",
        "SESSION_FILE_DIR": str(tmp_path / "sessions"),
    }


@pytest.fixture
def http_mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def idp(http_mock) -> FakeIdP:
    return FakeIdP(http_mock).install()


@pytest.fixture
def app(env, idp):
    return create_app(env)


@pytest.fixture
def client(app):
    return app.test_client()


class FakeSignIn:
    """Plays a user's trip through the fake IdP: /login, its page, the form_post back."""

    def __init__(self, client, idp: FakeIdP) -> None:
        self.client = client
        self.idp = idp

    def start(self, next_path: str = "/", **params):
        query = urlencode({"next": next_path, **params}, doseq=True)
        response = self.client.get(f"/login?{query}")
        assert response.status_code == 302
        return response.headers["Location"]

    def __call__(self, next_path: str = "/", *, account: Account = ADELE, **params):
        form = self.idp.authorize(self.start(next_path, **params), account=account)
        return self.client.post("/getAToken", data=form)


@pytest.fixture
def fake_sign_in(client, idp) -> FakeSignIn:
    """Signs `client` in through the fake IdP; call it, or use .start() for the first leg."""
    return FakeSignIn(client, idp)


@pytest.fixture
def signed_in_client(fake_sign_in):
    """A test client whose user has signed in through the fake IdP."""
    response = fake_sign_in()
    assert response.status_code == 303
    return fake_sign_in.client
