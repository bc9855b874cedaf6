"""private_key_jwt: MSAL signing in with a certificate instead of a secret, and each way an
assertion can fail answered with its AADSTS error."""

from __future__ import annotations

import pytest
from account_helpers import claims, graph
from credential_helpers import (
    SUBJECT,
    aadsts,
    assertion,
    ca_credential,
    make_credential,
    msal_app,
    sign_in,
    token_endpoint,
    token_request,
)
from emulator_helpers import TIMEOUT

# What a client that passed authentication gets for the made-up code it redeems.
AUTHENTICATED = "AADSTS70000"


@pytest.fixture
def registered(emulator):
    """A certificate uploaded to the demo app."""
    credential = make_credential()
    emulator.register_client_certificate(credential.cert_pem)
    return credential


def test_msal_with_private_key_and_thumbprint_signs_in_and_refreshes(emulator, registered):
    app = msal_app(emulator, {"private_key": registered.key_pem, "thumbprint": registered.sha1_hex})
    result = sign_in(emulator, app)
    assert "access_token" in result, result.get("error_description")
    assert claims(result["access_token"])["appidacr"] == "2"  # a certificate, not a secret
    assert graph(emulator, result["access_token"], "/me").json()["displayName"] == "Adele Vance"
    # MSAL sends the same assertion again within its nine minutes: still accepted.
    refreshed = app.acquire_token_silent(["User.Read"], app.get_accounts()[0], force_refresh=True)
    assert refreshed and "access_token" in refreshed


def test_a_secret_still_gives_appidacr_1(emulator):
    app = msal_app(emulator, emulator.client_secret)
    assert claims(sign_in(emulator, app)["access_token"])["appidacr"] == "1"


def test_msal_with_public_certificate_sends_x5c_and_signs_in(emulator, registered):
    app = msal_app(
        emulator, {"private_key": registered.key_pem, "public_certificate": registered.cert_pem}
    )
    assert "access_token" in sign_in(emulator, app)


def test_trusted_subject_and_issuer_accept_a_certificate_never_uploaded(emulator):
    ca = ca_credential()
    leaf = make_credential(SUBJECT, issuer=ca)
    emulator.trust_certificate_subject(SUBJECT, ca.cert_pem)
    with_x5c = {"private_key": leaf.key_pem, "public_certificate": leaf.cert_pem}
    assert "access_token" in sign_in(emulator, msal_app(emulator, with_x5c))

    # Without x5c the thumbprint names a certificate the app does not hold.
    by_thumbprint = {"private_key": leaf.key_pem, "thumbprint": leaf.sha1_hex}
    result = sign_in(emulator, msal_app(emulator, by_thumbprint))
    assert result["error"] == "invalid_client"
    assert "AADSTS700027" in result["error_description"]
    assert leaf.sha1_hex in result["error_description"]


@pytest.mark.parametrize("issuer", ["self-signed", "another CA"])
def test_trusted_subject_from_another_issuer_is_refused(emulator, issuer):
    emulator.trust_certificate_subject(SUBJECT, ca_credential().cert_pem)
    impostor = make_credential(SUBJECT, issuer=None if issuer == "self-signed" else ca_credential())
    app = msal_app(
        emulator, {"private_key": impostor.key_pem, "public_certificate": impostor.cert_pem}
    )
    assert "AADSTS700027" in sign_in(emulator, app)["error_description"]


def test_a_valid_hand_made_assertion_authenticates(emulator, registered):
    response = token_request(emulator, assertion(emulator, registered))
    assert aadsts(response) == AUTHENTICATED


@pytest.mark.parametrize("algorithm", ["RS256", "PS256"])
def test_x5t_s256_header_with_either_algorithm(emulator, registered, algorithm):
    header = {"x5t#S256": registered.x5t_s256}
    signed = assertion(emulator, registered, header=header, algorithm=algorithm)
    assert aadsts(token_request(emulator, signed)) == AUTHENTICATED


def test_unknown_certificate_is_700027_naming_its_thumbprint(emulator, registered):
    stranger = make_credential()
    response = token_request(emulator, assertion(emulator, stranger))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert aadsts(response) == "AADSTS700027"
    assert "The key was not found" in response.json()["error_description"]
    assert stranger.sha1_hex in response.json()["error_description"]


def test_signature_by_another_key_is_700027(emulator, registered):
    forged = assertion(emulator, registered, key=make_credential().key)
    response = token_request(emulator, forged)
    assert aadsts(response) == "AADSTS700027"
    assert "did not match the expected signature" in response.json()["error_description"]


def test_expired_certificate_is_refused(emulator):
    old = make_credential(expired=True)
    emulator.register_client_certificate(old.cert_pem)
    response = token_request(emulator, assertion(emulator, old))
    assert aadsts(response) == "AADSTS700027"
    assert "expired" in response.json()["error_description"]


def test_unsupported_algorithm_is_refused(emulator, registered):
    signed = assertion(
        emulator,
        registered,
        algorithm="HS256",
        key="a shared secret, 32 bytes or more, not a certificate key",
    )
    assert aadsts(token_request(emulator, signed)) == "AADSTS700027"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"exp": -600}, "AADSTS700024"),  # expired, beyond five minutes of skew
        ({"nbf": 900, "exp": 1500}, "AADSTS700024"),  # not yet valid
        ({"aud": "https://login.microsoftonline.com/other/oauth2/v2.0/token"}, "AADSTS700023"),
        ({"aud": "https://login.microsoftonline.com/{tenant}/v2.0"}, "AADSTS700023"),
        ({"sub": "someone-else"}, "AADSTS50048"),
    ],
)
def test_claims_that_do_not_hold_are_refused(emulator, registered, change, code):
    now = int(emulator.now())
    changed = {
        k: (now + v if k in ("exp", "nbf") else v.format(tenant=emulator.tenant_id))
        for k, v in change.items()
    }
    response = token_request(emulator, assertion(emulator, registered, claims=changed))
    assert response.status_code == 401
    assert (response.json()["error"], aadsts(response)) == ("invalid_client", code)


def test_expiry_allows_five_minutes_of_clock_skew(emulator, registered):
    late = assertion(emulator, registered, claims={"exp": int(emulator.now()) - 60})
    assert aadsts(token_request(emulator, late)) == AUTHENTICATED


def test_expiry_follows_the_emulator_clock(emulator, registered):
    signed = assertion(emulator, registered)
    emulator.advance_clock(600 + 301)
    response = token_request(emulator, signed)
    assert aadsts(response) == "AADSTS700024"
    assert "not within its valid time range" in response.json()["error_description"]


def test_client_id_that_is_not_the_issuer_is_700021(emulator, registered):
    emulator.register_client("other-app", "other-secret", ["http://localhost/cb"])
    response = token_request(emulator, assertion(emulator, registered), client_id="other-app")
    assert aadsts(response) == "AADSTS700021"


def test_client_id_may_be_left_out(emulator, registered):
    assert aadsts(token_request(emulator, assertion(emulator, registered), client_id=None)) == (
        AUTHENTICATED
    )


@pytest.mark.parametrize(
    "build",
    [
        {"header": {}},  # nothing names a certificate
        {"drop": ("jti",)},
        {"drop": ("exp",)},
    ],
)
def test_incomplete_assertions_are_50027(emulator, registered, build):
    assert aadsts(token_request(emulator, assertion(emulator, registered, **build))) == (
        "AADSTS50027"
    )


def test_malformed_assertion_is_50027(emulator):
    assert aadsts(token_request(emulator, "not-a-jwt")) == "AADSTS50027"


@pytest.mark.parametrize(
    ("assertion_type", "code"), [(None, "AADSTS900144"), ("urn:other", "AADSTS90100")]
)
def test_assertion_type_must_be_jwt_bearer(emulator, registered, assertion_type, code):
    response = token_request(
        emulator, assertion(emulator, registered), client_assertion_type=assertion_type
    )
    assert response.status_code == 400
    assert (response.json()["error"], aadsts(response)) == ("invalid_request", code)


def test_secret_and_assertion_together_are_refused(emulator, registered):
    response = token_request(
        emulator, assertion(emulator, registered), client_secret=emulator.client_secret
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_jti_belongs_to_its_first_assertion(emulator, registered):
    first = assertion(emulator, registered, claims={"jti": "only-once"})
    assert aadsts(token_request(emulator, first)) == AUTHENTICATED
    assert aadsts(token_request(emulator, first)) == AUTHENTICATED  # the same one, re-sent
    replay = assertion(
        emulator, registered, claims={"jti": "only-once", "exp": int(emulator.now()) + 300}
    )
    response = token_request(emulator, replay)
    assert aadsts(response) == "AADSTS50027"
    assert "already used" in response.json()["error_description"]


def test_jtis_are_per_app(emulator, registered):
    other = make_credential()
    emulator.register_client("other-app", "other-secret", ["http://localhost/cb"])
    emulator.register_client_certificate(other.cert_pem, client_id="other-app")
    mine = assertion(emulator, registered, claims={"jti": "shared"})
    theirs = assertion(
        emulator,
        other,
        claims={"jti": "shared", "iss": "other-app", "sub": "other-app"},
    )
    assert aadsts(token_request(emulator, mine)) == AUTHENTICATED
    assert aadsts(token_request(emulator, theirs, client_id="other-app")) == AUTHENTICATED


def test_discovery_advertises_private_key_jwt(emulator):
    with emulator.http_client() as session:
        document = session.get(
            f"{emulator.authority}/v2.0/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]


def test_control_api_uploads_a_certificate_for_the_listening_emulator(
    entra_emulator, ca_trusting_session
):
    credential = make_credential()
    uploaded = ca_trusting_session.post(
        f"{entra_emulator.control_url}/client-certificates",
        json={"certificate": credential.cert_pem},
        timeout=TIMEOUT,
    )
    assert uploaded.status_code == 200
    assert uploaded.json()["thumbprint"] == credential.sha1_hex
    form = {
        "client_id": entra_emulator.client_id,
        "grant_type": "refresh_token",
        "refresh_token": "not-a-refresh-token",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(entra_emulator, credential),
    }
    answer = ca_trusting_session.post(token_endpoint(entra_emulator), data=form, timeout=TIMEOUT)
    # Authenticated over TLS (aud is the loopback token endpoint); only the grant is bad.
    assert aadsts(answer) == "AADSTS9002313"
    refused = ca_trusting_session.post(
        f"{entra_emulator.control_url}/client-certificates",
        json={"certificate": "not a certificate"},
        timeout=TIMEOUT,
    )
    assert refused.status_code == 400
