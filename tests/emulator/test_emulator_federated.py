"""Workload identity federation: a token from the emulator's demo issuer authenticates the
demo app through its federated identity credential; each mismatch has its AADSTS error."""

from __future__ import annotations

import json
import uuid

import jwt
import pytest
from account_helpers import claims
from credential_helpers import aadsts, make_credential, msal_app, sign_in, token_request
from emulator_helpers import TIMEOUT

AUTHENTICATED = "AADSTS70000"  # the made-up code is bad; the client got past authentication
EXCHANGE = "api://AzureADTokenExchange"


def foreign_token(emulator, key, issuer: str, kid: str, subject: str = "demo-workload") -> str:
    now = int(emulator.now())
    body = {
        "iss": issuer,
        "sub": subject,
        "aud": EXCHANGE,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_msal_signs_in_with_a_token_from_the_demo_issuer(emulator):
    app = msal_app(emulator, {"client_assertion": emulator.federated_token})
    result = sign_in(emulator, app)
    assert "access_token" in result, result.get("error_description")
    assert claims(result["access_token"])["appidacr"] == "2"
    refreshed = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    assert refreshed and "access_token" in refreshed


def test_demo_issuer_publishes_what_verifies_its_tokens(emulator):
    with emulator.http_client() as session:
        discovery = session.get(
            f"{emulator.federated_issuer}/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
        keys = session.get(discovery["jwks_uri"], timeout=TIMEOUT).json()
    assert discovery["issuer"] == emulator.federated_issuer
    token = emulator.federated_token(lifetime=120)
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwt.PyJWKSet.from_dict(keys).keys if k.key_id == kid)
    verified = jwt.decode(
        token, key, algorithms=["RS256"], audience=EXCHANGE, issuer=emulator.federated_issuer
    )
    assert verified["sub"] == "demo-workload"
    assert verified["exp"] - verified["iat"] == 120


@pytest.mark.parametrize(
    ("token_kwargs", "code", "named"),
    [
        ({"subject": "someone-else"}, "AADSTS700213", "someone-else"),
        ({"subject": "Demo-Workload"}, "AADSTS700213", "Demo-Workload"),  # case-sensitive
        ({"audience": "api://AzureADMyOrg"}, "AADSTS700212", "api://AzureADMyOrg"),
    ],
)
def test_credential_mismatches_name_what_did_not_match(emulator, token_kwargs, code, named):
    response = token_request(emulator, emulator.federated_token(**token_kwargs))
    assert response.status_code == 401
    assert (response.json()["error"], aadsts(response)) == ("invalid_client", code)
    assert f"'{named}'" in response.json()["error_description"]


def test_an_issuer_no_credential_trusts_is_700211(emulator):
    stranger = make_credential()
    token = foreign_token(emulator, stranger.key, "https://token.example/workloads", "k1")
    response = token_request(emulator, token)
    assert aadsts(response) == "AADSTS700211"
    assert "'https://token.example/workloads'" in response.json()["error_description"]


def test_a_token_not_signed_by_the_demo_issuer_is_refused(emulator):
    genuine = emulator.federated_token()
    kid = jwt.get_unverified_header(genuine)["kid"]
    forged = foreign_token(emulator, make_credential().key, emulator.federated_issuer, kid)
    assert aadsts(token_request(emulator, forged)) == "AADSTS700027"


def test_an_expired_workload_token_is_700024(emulator):
    token = emulator.federated_token(lifetime=60)
    emulator.advance_clock(60 + 301)  # past five minutes of skew
    response = token_request(emulator, token)
    assert aadsts(response) == "AADSTS700024"


def test_the_client_id_is_required(emulator):
    response = token_request(emulator, emulator.federated_token(), client_id=None)
    assert (response.status_code, aadsts(response)) == (400, "AADSTS900144")


def test_a_credential_for_another_issuer_with_its_keys(emulator):
    workload = make_credential()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(workload.key.public_key()))
    issuer = "https://token.example/workloads"
    emulator.add_federated_credential(
        "repo:contoso/app:ref:refs/heads/main",
        issuer=issuer,
        jwks={"keys": [{**jwk, "kid": "k1", "use": "sig"}]},
    )
    token = foreign_token(
        emulator, workload.key, issuer, "k1", subject="repo:contoso/app:ref:refs/heads/main"
    )
    assert aadsts(token_request(emulator, token)) == AUTHENTICATED
    other_subject = foreign_token(emulator, workload.key, issuer, "k1", subject="repo:other")
    assert aadsts(token_request(emulator, other_subject)) == "AADSTS700213"


def test_a_new_credential_for_another_subject_of_the_demo_issuer(emulator):
    assert aadsts(token_request(emulator, emulator.federated_token("nightly-job"))) == (
        "AADSTS700213"
    )
    emulator.add_federated_credential("nightly-job")
    assert aadsts(token_request(emulator, emulator.federated_token("nightly-job"))) == (
        AUTHENTICATED
    )


def test_listening_emulator_writes_a_token_file_and_refreshes_it(
    entra_emulator, ca_trusting_session
):
    settings = json.loads(entra_emulator.settings_path.read_text())
    path = entra_emulator.settings_path.with_name("federated-token")
    assert settings["federated_issuer"] == entra_emulator.federated_issuer
    assert settings["federated_token_file"] == str(path)
    first = path.read_text()
    assert jwt.decode(first, options={"verify_signature": False})["sub"] == "demo-workload"
    form = {
        "client_id": entra_emulator.client_id,
        "grant_type": "refresh_token",
        "refresh_token": "not-a-refresh-token",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": first,
    }
    endpoint = f"{entra_emulator.authority}/oauth2/v2.0/token"
    answer = ca_trusting_session.post(endpoint, data=form, timeout=TIMEOUT)
    assert aadsts(answer) == "AADSTS9002313"  # authenticated; only the grant is made up

    refreshed = ca_trusting_session.post(
        f"{entra_emulator.control_url}/federated-token", json={"lifetime": 300}, timeout=TIMEOUT
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["path"] == str(path)
    assert path.read_text() == refreshed.json()["token"] != first
    assert path.stat().st_mode & 0o077 == 0  # a credential: owner-only
