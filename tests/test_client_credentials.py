"""Signing in without a client secret: a certificate (private_key_jwt) or a federated token.

The emulator checks each client assertion as Entra does (signature, thumbprint or chain,
audience, lifetime, the federated credential's issuer, subject and audience), so a sign-in
that completes is one whose assertion Entra would accept.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from app_helpers import ADELE, SignIn, signed_in
from certificates import certificate, rsa_key, write_client_pem
from cryptography.hazmat.primitives import serialization

from app import create_app

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_header(token: str) -> dict:
    return json.loads(unb64url(token.split(".")[0]))


def without_secret(env: dict, **settings: str) -> dict:
    return {k: v for k, v in env.items() if k != "CLIENT_SECRET"} | settings


def sign_in_with(env: dict, emulator, user: str = ADELE):
    """A new browser signs in to an app built from ENV: (its test client, the callback's answer)."""
    client = create_app(env).test_client()
    return client, SignIn(client, emulator)(user=user)


def client_authentication(token_endpoint) -> list[dict]:
    """How each token request authenticated the app: the form fields that do it."""
    names = ("client_secret", "client_assertion", "client_assertion_type")
    return [{k: v for k, v in c.form.items() if k in names} for c in token_endpoint.calls()]


# -- certificates -------------------------------------------------------------------


def uploaded(env: dict, emulator, tmp_path, **settings: str):
    """(the app's settings, the file): a new certificate uploaded to the registration."""
    pem = write_client_pem(tmp_path, password=settings.get("CLIENT_CERTIFICATE_PASSWORD"))
    emulator.register_client_certificate(pem.pem)
    return without_secret(env, CLIENT_CERTIFICATE_PATH=str(pem.path), **settings), pem


def test_sign_in_with_an_uploaded_certificate_names_it_by_its_sha1_thumbprint(
    env, emulator, token_endpoint, tmp_path
):
    settings, pem = uploaded(env, emulator, tmp_path)
    client, answer = sign_in_with(settings, emulator)
    assert answer.status_code == 303 and signed_in(client)
    (sent,) = client_authentication(token_endpoint)
    assert "client_secret" not in sent and sent["client_assertion_type"] == JWT_BEARER
    header = jwt_header(sent["client_assertion"])
    assert header["alg"] == "RS256"
    assert unb64url(header["x5t"]) == bytes.fromhex(pem.sha1_thumbprint)
    assert "x5c" not in header


def test_with_send_x5c_the_assertion_carries_the_certificate_and_its_sha256_thumbprint(
    env, emulator, token_endpoint, tmp_path
):
    settings, pem = uploaded(env, emulator, tmp_path, CLIENT_CERTIFICATE_SEND_X5C="true")
    client, answer = sign_in_with(settings, emulator)
    assert answer.status_code == 303 and signed_in(client)
    (sent,) = client_authentication(token_endpoint)
    header = jwt_header(sent["client_assertion"])
    der = pem.certificate.public_bytes(serialization.Encoding.DER)
    assert header["alg"] == "PS256"
    assert unb64url(header["x5t#S256"]) == hashlib.sha256(der).digest()
    # MSAL keeps the PEM's line breaks inside each x5c entry; base64 readers skip them.
    assert [base64.b64decode(entry) for entry in header["x5c"]] == [der]


@pytest.fixture
def issued_by_a_trusted_ca(emulator, tmp_path):
    """A certificate issued by a CA, whose subject the app registration trusts (SNI), not
    uploaded; the file holds the key, the certificate and the CA's certificate after it."""
    ca_key = rsa_key(1)
    ca = certificate(ca_key, "Contoso Test CA", ca=True)
    subject = "python-webapp.contoso.example"
    leaf = certificate(rsa_key(2), subject, issuer=(ca, ca_key))
    emulator.trust_certificate_subject(f"CN={subject}", ca)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    return write_client_pem(tmp_path, rsa_key(2), leaf, extra=ca_pem)


def test_subject_name_and_issuer_authentication_works_when_the_chain_is_sent(
    env, emulator, token_endpoint, issued_by_a_trusted_ca
):
    settings = {
        "CLIENT_CERTIFICATE_PATH": str(issued_by_a_trusted_ca.path),
        "CLIENT_CERTIFICATE_SEND_X5C": "true",
    }
    client, answer = sign_in_with(without_secret(env, **settings), emulator)
    assert answer.status_code == 303 and signed_in(client)
    (sent,) = client_authentication(token_endpoint)
    # The certificate of the key only, not the CA's after it in the file (as MSAL.NET sends).
    (leaf,) = jwt_header(sent["client_assertion"])["x5c"]
    leaf_der = issued_by_a_trusted_ca.certificate.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(leaf) == leaf_der


def test_a_certificate_entra_does_not_know_ends_on_the_sign_in_error_page(
    env, emulator, issued_by_a_trusted_ca
):
    # Without x5c the emulator has only a thumbprint it was never given.
    settings = {"CLIENT_CERTIFICATE_PATH": str(issued_by_a_trusted_ca.path)}
    client, answer = sign_in_with(without_secret(env, **settings), emulator)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Sign-in did not complete" in page
    assert "invalid_client" in page and "AADSTS700027" in page
    assert not signed_in(client)


def test_an_encrypted_private_key_is_opened_with_its_password(env, emulator, tmp_path):
    password = {"CLIENT_CERTIFICATE_PASSWORD": "correct horse battery staple"}
    settings, _ = uploaded(env, emulator, tmp_path, **password)
    client, answer = sign_in_with(settings, emulator)
    assert answer.status_code == 303 and signed_in(client)


def test_a_refused_token_is_renewed_with_the_certificate_too(
    env, emulator_graph, token_endpoint, tmp_path
):
    client, _ = sign_in_with(uploaded(env, emulator_graph, tmp_path)[0], emulator_graph)
    emulator_graph.expire_tokens()  # Graph now refuses the token the sign-in gave
    assert client.get("/graphcall").status_code == 302  # renewed, then the page again
    assert "Adele Vance" in client.get("/graphcall").get_data(as_text=True)
    sent = client_authentication(token_endpoint)
    assert [s["client_assertion_type"] for s in sent] == [JWT_BEARER, JWT_BEARER]
    assert all("client_secret" not in s for s in sent)


# -- workload identity federation --------------------------------------------------


@pytest.fixture
def token_file(tmp_path):
    return tmp_path / "azure-identity-token"


def federated_env(env: dict, token_file) -> dict:
    return without_secret(env, AZURE_FEDERATED_TOKEN_FILE=str(token_file))


def test_each_sign_in_sends_the_federated_token_the_file_holds_then(
    env, emulator, token_endpoint, token_file
):
    first = emulator.federated_token()
    token_file.write_text(first)
    app = create_app(federated_env(env, token_file))
    one = app.test_client()
    assert SignIn(one, emulator)().status_code == 303 and signed_in(one)
    second = emulator.federated_token(lifetime=7200)
    assert second != first
    token_file.write_text(second + "\n")  # rotated, as Kubernetes does about hourly
    other = app.test_client()
    assert SignIn(other, emulator)().status_code == 303 and signed_in(other)
    sent = client_authentication(token_endpoint)
    assert [s["client_assertion"] for s in sent] == [first, second]
    assert all(s["client_assertion_type"] == JWT_BEARER and "client_secret" not in s for s in sent)


def test_a_token_for_another_workload_ends_on_the_sign_in_error_page(env, emulator, token_file):
    token_file.write_text(emulator.federated_token(subject="someone-else"))
    client, answer = sign_in_with(federated_env(env, token_file), emulator)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "AADSTS700213" in page
    assert not signed_in(client)


def test_a_token_file_gone_at_sign_in_gives_a_page_naming_the_variable(
    env, emulator, token_file, caplog
):
    token = emulator.federated_token()
    token_file.write_text(token)
    client = create_app(federated_env(env, token_file)).test_client()
    form = SignIn(client, emulator).authorize()
    token_file.unlink()
    answer = client.post("/getAToken", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "AZURE_FEDERATED_TOKEN_FILE" in page and "Sign out" not in page
    assert 'class="site-header"' in page  # in the site's layout
    assert token not in page and token not in caplog.text
    token_file.write_text(emulator.federated_token())  # back: the next try works
    again = SignIn(client, emulator)()
    assert again.status_code == 303 and signed_in(client)
