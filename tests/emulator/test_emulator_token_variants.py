"""Token variants on demand and the clock offset: what an app's own validation must reject."""

from __future__ import annotations

import jwt
import pytest
from emulator_helpers import TIMEOUT, authorize, make_app
from feature_helpers import GRADY, PATTI, control, graph, signed_in


@pytest.fixture(autouse=True)
def _reset(entra_emulator_session):
    yield
    entra_emulator_session.state.reset_features()


@pytest.fixture
def signing_key(entra_emulator_session, ca_trusting_session) -> jwt.PyJWK:
    keys = ca_trusting_session.get(
        f"{entra_emulator_session.authority}/discovery/v2.0/keys", timeout=TIMEOUT
    ).json()
    return jwt.PyJWK(keys["keys"][0])


def validate_id_token(entra_emulator_session, key: jwt.PyJWK, token: str) -> dict:
    """What an app should do with an ID token (MSAL Python checks only the nonce)."""
    return jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=entra_emulator_session.client_id,
        issuer=f"{entra_emulator_session.authority}/v2.0",
        options={"require": ["exp", "iat", "nbf", "tid", "preferred_username"]},
    )


def add_variant(ca_trusting_session, entra_emulator_session, **body):
    response = control(
        ca_trusting_session, entra_emulator_session, "POST", "/token-variants", **body
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("variant", "error"),
    [
        ("expired", jwt.ExpiredSignatureError),
        ("not_yet_valid", jwt.ImmatureSignatureError),
        ("wrong_signature", jwt.InvalidSignatureError),
        ("wrong_audience", jwt.InvalidAudienceError),
        ("wrong_issuer", jwt.InvalidIssuerError),
    ],
)
def test_next_id_token_fails_validation_then_tokens_are_good_again(
    entra_emulator_session, ca_trusting_session, signing_key, variant, error
):
    add_variant(ca_trusting_session, entra_emulator_session, variant=variant)
    broken = signed_in(entra_emulator_session)  # MSAL accepts it: it checks the nonce only
    with pytest.raises(error):
        validate_id_token(entra_emulator_session, signing_key, broken["id_token"])
    assert jwt.get_unverified_header(broken["id_token"])["kid"] == signing_key.key_id
    good = signed_in(entra_emulator_session)
    assert validate_id_token(entra_emulator_session, signing_key, good["id_token"])["oid"]


def test_missing_claims_are_removed(entra_emulator_session, ca_trusting_session, signing_key):
    add_variant(
        ca_trusting_session,
        entra_emulator_session,
        variant="missing_claims",
        claims=["tid", "preferred_username"],
    )
    broken = signed_in(entra_emulator_session)["id_token"]
    claims = jwt.decode(
        broken, signing_key, algorithms=["RS256"], audience=entra_emulator_session.client_id
    )
    assert "tid" not in claims and "preferred_username" not in claims and claims["oid"]
    with pytest.raises(jwt.MissingRequiredClaimError):
        validate_id_token(entra_emulator_session, signing_key, broken)


def test_removing_the_nonce_trips_msals_own_check(entra_emulator_session, ca_trusting_session):
    add_variant(
        ca_trusting_session, entra_emulator_session, variant="missing_claims", claims=["nonce"]
    )
    app = make_app(entra_emulator_session)
    flow, fields = authorize(app, ["User.Read"])
    with pytest.raises(RuntimeError, match="(?i)nonce"):
        app.acquire_token_by_auth_code_flow(flow, fields)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("expired", "expired or is not yet valid"),
        ("not_yet_valid", "expired or is not yet valid"),
        ("wrong_signature", "Invalid signature"),
        ("wrong_audience", "Invalid audience"),
        ("wrong_issuer", "Invalid issuer"),
    ],
)
def test_broken_access_tokens_are_refused_by_graph(
    entra_emulator_session, ca_trusting_session, variant, message
):
    add_variant(
        ca_trusting_session, entra_emulator_session, variant=variant, tokens=["access_token"]
    )
    result = signed_in(entra_emulator_session)
    answer = graph(ca_trusting_session, entra_emulator_session, result["access_token"], "/me")
    assert answer.status_code == 401
    assert message in answer.json()["error"]["message"]
    assert (
        graph(
            ca_trusting_session,
            entra_emulator_session,
            signed_in(entra_emulator_session)["access_token"],
            "/me",
        ).status_code
        == 200
    )


def test_variants_wait_for_their_user_and_count_down(
    entra_emulator_session, ca_trusting_session, signing_key
):
    add_variant(ca_trusting_session, entra_emulator_session, variant="expired", user=GRADY, count=2)
    assert validate_id_token(
        entra_emulator_session, signing_key, signed_in(entra_emulator_session, PATTI)["id_token"]
    )
    pending = control(ca_trusting_session, entra_emulator_session, "GET", "/token-variants").json()[
        "value"
    ]
    assert [(v["variant"], v["remaining"]) for v in pending] == [(["expired"], 2)]
    for _ in range(2):
        with pytest.raises(jwt.ExpiredSignatureError):
            validate_id_token(
                entra_emulator_session,
                signing_key,
                signed_in(entra_emulator_session, GRADY)["id_token"],
            )
    assert (
        control(ca_trusting_session, entra_emulator_session, "GET", "/token-variants").json()[
            "value"
        ]
        == []
    )
    assert validate_id_token(
        entra_emulator_session, signing_key, signed_in(entra_emulator_session, GRADY)["id_token"]
    )


def test_variant_for_another_client_is_not_used(
    entra_emulator_session, ca_trusting_session, signing_key
):
    add_variant(
        ca_trusting_session, entra_emulator_session, variant="expired", client_id="some-other-app"
    )
    assert validate_id_token(
        entra_emulator_session, signing_key, signed_in(entra_emulator_session)["id_token"]
    )


@pytest.mark.parametrize(
    "body",
    [
        {"variant": "sideways"},
        {},
        {"variant": "missing_claims"},
        {"variant": "expired", "claims": ["tid"]},
        {"variant": "expired", "tokens": ["refresh_token"]},
        {"variant": "expired", "count": 0},
    ],
)
def test_bad_variants_are_400(entra_emulator_session, ca_trusting_session, body):
    response = control(
        ca_trusting_session, entra_emulator_session, "POST", "/token-variants", **body
    )
    assert response.status_code == 400 and response.json()["error"]


def test_clock_offset_moves_token_times_and_graph_validation(
    entra_emulator_session, ca_trusting_session
):
    token = signed_in(entra_emulator_session)["access_token"]
    control(ca_trusting_session, entra_emulator_session, "POST", "/clock", offset=7200)
    assert (
        graph(ca_trusting_session, entra_emulator_session, token, "/me").status_code == 401
    )  # expired in emulator time
    shifted = signed_in(entra_emulator_session)
    now = control(ca_trusting_session, entra_emulator_session, "GET", "/clock").json()["now"]
    claims = jwt.decode(shifted["id_token"], options={"verify_signature": False})
    assert abs(claims["iat"] - now) < 60 and claims["exp"] - claims["iat"] == 3600
    assert (
        graph(
            ca_trusting_session, entra_emulator_session, shifted["access_token"], "/me"
        ).status_code
        == 200
    )
    control(ca_trusting_session, entra_emulator_session, "POST", "/clock", advance=-7200)
    assert graph(ca_trusting_session, entra_emulator_session, token, "/me").status_code == 200
    assert (
        graph(
            ca_trusting_session, entra_emulator_session, shifted["access_token"], "/me"
        ).status_code
        == 401
    )  # nbf


def test_codes_expire_when_the_clock_moves_past_their_lifetime(
    entra_emulator_session, ca_trusting_session
):
    app = make_app(entra_emulator_session)
    flow, fields = authorize(app, ["User.Read"])
    entra_emulator_session.state.set_clock_offset(601)  # codes live 10 minutes
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert result["error"] == "invalid_grant" and 70008 in result["error_codes"]


def test_reset_features_forgets_variants_and_offset(entra_emulator_session, ca_trusting_session):
    add_variant(ca_trusting_session, entra_emulator_session, variant="expired")
    control(ca_trusting_session, entra_emulator_session, "POST", "/clock", offset=30)
    assert (
        control(ca_trusting_session, entra_emulator_session, "POST", "/features/reset").status_code
        == 204
    )
    assert (
        control(ca_trusting_session, entra_emulator_session, "GET", "/token-variants").json()[
            "value"
        ]
        == []
    )
    assert (
        control(ca_trusting_session, entra_emulator_session, "GET", "/clock").json()["offset"] == 0
    )
