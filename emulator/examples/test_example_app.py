"""The example app, tested with the entra_emulator fixture: real MSAL, no browser, no network."""

import pytest
from example_app import create_app

REDIRECT_URI = "http://localhost/getAToken"  # where Flask's test client is


@pytest.fixture
def client(entra_emulator):
    entra_emulator.register_client("example-app", "example-secret", [REDIRECT_URI])
    app = create_app(
        {
            "CLIENT_ID": "example-app",
            "CLIENT_SECRET": "example-secret",
            "AUTHORITY": entra_emulator.authority,
            "INSTANCE_DISCOVERY": False,  # MSAL does not know the emulator's host
            "GRAPH_ENDPOINT": entra_emulator.graph_endpoint,
            "HTTP_SESSION": entra_emulator.http_client(),  # in-process: no socket, no TLS
            "SECRET_KEY": "test only",
        }
    )
    return app.test_client()


def test_signed_in_user_sees_their_name(client, entra_emulator):
    auth_uri = client.get("/login").headers["Location"]
    fields = entra_emulator.sign_in(auth_uri, "adele@contoso.example")
    assert client.post("/getAToken", data=fields).status_code == 302
    assert client.get("/").get_data(as_text=True) == "Hello, Adele Vance"


def test_declined_consent_does_not_sign_in(client, entra_emulator):
    auth_uri = client.get("/login").headers["Location"]
    fields = entra_emulator.sign_in(auth_uri, "adele@contoso.example", consent=False)
    assert client.post("/getAToken", data=fields).status_code == 401
    assert client.get("/").status_code == 302  # still signed out: back to /login


def test_graph_throttling_reaches_the_page(client, entra_emulator):
    auth_uri = client.get("/login").headers["Location"]
    client.post("/getAToken", data=entra_emulator.sign_in(auth_uri, "adele@contoso.example"))
    entra_emulator.set_fault(429, retry_after=2)
    throttled = client.get("/")
    assert throttled.status_code == 429 and "TooManyRequests" in throttled.get_data(as_text=True)
    assert entra_emulator.counters()["graph_paths"] == {"/v1.0/me": 1}
