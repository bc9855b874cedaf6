"""http://127.0.0.1:PORT/ leads to the trusted localhost:PORT; other hosts get a clear refusal."""

from __future__ import annotations

import pytest

from app import create_app


@pytest.fixture
def client_for(env, emulator):
    def make(trusted: str, **more: str):
        return create_app(env | {"TRUSTED_HOSTS": trusted} | more).test_client()

    return make


@pytest.mark.parametrize("alias", ["127.0.0.1:5000", "[::1]:5000"])
def test_a_loopback_alias_is_sent_to_the_trusted_localhost_with_path_and_query(client_for, alias):
    client = client_for("localhost:5000")
    response = client.get("/files/Documents?q=r%C3%A9sum%C3%A9&next=%2F", headers={"Host": alias})
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "http://localhost:5000/files/Documents?q=r%C3%A9sum%C3%A9&next=%2F"
    )


def test_the_redirect_leads_to_a_page_that_answers(client_for):
    client = client_for("localhost:5000")
    response = client.get("/", headers={"Host": "127.0.0.1:5000"})
    page = client.get("/", headers={"Host": "localhost:5000"})
    assert response.headers["Location"] == "http://localhost:5000/"
    assert page.status_code == 200


def test_a_form_post_keeps_its_method(client_for):
    response = client_for("localhost:5000").post("/logout", headers={"Host": "127.0.0.1:5000"})
    assert response.status_code == 307
    assert response.headers["Location"] == "http://localhost:5000/logout"


def test_the_default_port_matches_a_trusted_name_without_one(client_for):
    response = client_for("localhost").get("/graphcall", headers={"Host": "127.0.0.1"})
    assert response.headers["Location"] == "http://localhost/graphcall"


@pytest.mark.parametrize(
    ("trusted", "host"),
    [
        ("localhost:5000", "127.0.0.1:5001"),  # another port: another app, perhaps
        ("localhost:5000", "127.0.0.1"),
        ("app.example", "127.0.0.1"),  # no localhost entry to send it to
        (".example.com", "127.0.0.1"),
        ("localhost:5000", "127.0.0.2:5000"),
        ("localhost:5000", "evil.example"),
        ("localhost:5000", "localhost.evil.example:5000"),
        ("localhost:5000", "127.0.0.1:5000@evil.example"),
    ],
)
def test_other_untrusted_hosts_are_refused_with_a_small_page_and_no_redirect(
    client_for, trusted, host
):
    response = client_for(trusted).get("/graphcall", headers={"Host": host})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Location" not in response.headers
    assert response.mimetype == "text/html"
    assert "<h1>This site does not answer to that host name</h1>" in page
    assert host not in page
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_path_that_looks_like_a_host_stays_on_localhost(client_for):
    # As a server passes it on for GET //evil.example/x (the test client would read a host).
    request = {"PATH_INFO": "//evil.example/x", "HTTP_HOST": "127.0.0.1:5000"}
    response = client_for("localhost:5000").get("/", environ_overrides=request)
    assert response.headers["Location"] == "http://localhost:5000/evil.example/x"


def test_behind_a_trusted_proxy_the_forwarded_host_counts(client_for):
    client = client_for("localhost:5000", TRUSTED_PROXY_HOPS="1")
    forwarded = client.get(
        "/graphcall", headers={"Host": "proxy.internal", "X-Forwarded-Host": "127.0.0.1:5000"}
    )
    evil = client.get(
        "/graphcall", headers={"Host": "localhost:5000", "X-Forwarded-Host": "evil.example"}
    )
    assert forwarded.headers["Location"] == "http://localhost:5000/graphcall"
    assert evil.status_code == 400 and "Location" not in evil.headers


def test_trusted_hosts_pass_and_without_trusted_hosts_every_host_does(client_for, client):
    trusted = client_for("localhost:5000").get("/", headers={"Host": "localhost:5000"})
    assert trusted.status_code == 200
    assert client.get("/", headers={"Host": "127.0.0.1:5000"}).status_code == 200
