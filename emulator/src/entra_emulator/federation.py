"""Workload identity federation: a demo OIDC issuer the emulator serves, and client
assertions from a federated issuer checked against the app's federated identity
credentials, with Entra's errors (workload-identity-federation).

The demo issuer stands in for GitHub Actions, Kubernetes or another cloud: it publishes a
discovery document and JWKS at its own issuer URL on the HTTPS listener, and mints tokens
for tests (`Emulator.federated_token`) and for the demo (`STATE_DIR/federated-token`).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from .aad_errors import OAuthError
from .client_assertions import Assertion, check_lifetime, invalid_client
from .client_credentials import TOKEN_EXCHANGE_AUDIENCE, b64url
from .state import EmulatorState

DEMO_ISSUER_PATH = "/federation/demo-issuer"
DEMO_SUBJECT = "demo-workload"
DEFAULT_LIFETIME = 3600
ALGORITHMS = ["RS256", "PS256", "ES256"]  # what workload issuers sign with
FEDERATION_DOCS = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
TOKEN_FILE = "federated-token"


class DemoIssuer:
    """The demo workload issuer's RS256 key, made at start-up like the token signing key."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha256(der).digest())[:22]
        self.token_file: Path | None = None  # STATE_DIR/federated-token when listening

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def mint(self, issuer: str, subject: str, audience: str, lifetime: int, now: float) -> str:
        """A workload token, as the issuer would hand one to a job or a pod."""
        now = int(now)
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def write_token_file(self, token: str) -> Path | None:
        """Replace STATE_DIR/federated-token (owner-only, never half-written)."""
        if self.token_file is None:
            return None
        tmp = self.token_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token)
        os.replace(tmp, self.token_file)
        return self.token_file


def demo_issuer_url(state: EmulatorState) -> str:
    return state.bases.login + DEMO_ISSUER_PATH


def resolve_issuer(state: EmulatorState, configured: str) -> str:
    """tenant.json names the emulator's own issuers by path ("/federation/demo-issuer"),
    since their origin is known only once the listeners are up."""
    return state.bases.login + configured if configured.startswith("/") else configured


def demo_subject(state: EmulatorState) -> str:
    """The subject the demo client's credential for the demo issuer expects."""
    for credential in state.directory.client.get("federatedIdentityCredentials", []):
        if resolve_issuer(state, credential["issuer"]) == demo_issuer_url(state):
            return credential["subject"]
    return DEMO_SUBJECT


def mint_demo_token(
    state: EmulatorState,
    issuer: DemoIssuer,
    subject: str | None = None,
    audience: str = TOKEN_EXCHANGE_AUDIENCE,
    lifetime: int = DEFAULT_LIFETIME,
) -> str:
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime < 1:
        raise ValueError("lifetime must be a positive number of seconds")
    return issuer.mint(
        demo_issuer_url(state),
        subject or demo_subject(state),
        audience,
        lifetime,
        state.clock.now(),
    )


bp = Blueprint("federation", __name__)


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


@bp.get(DEMO_ISSUER_PATH + "/.well-known/openid-configuration")
def demo_discovery() -> ResponseReturnValue:
    issuer = demo_issuer_url(_state())
    return jsonify(
        {
            "issuer": issuer,
            "jwks_uri": issuer + "/keys",
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf"],
        }
    )


@bp.get(DEMO_ISSUER_PATH + "/keys")
def demo_keys() -> ResponseReturnValue:
    return jsonify(current_app.extensions["federated_issuer"].jwks())


NO_MATCH = {"issuer": "AADSTS700211", "audience": "AADSTS700212", "subject": "AADSTS700213"}


def _no_match(what: str, value: object) -> OAuthError:
    return invalid_client(
        f"{NO_MATCH[what]}: No matching federated identity record found for presented "
        f"assertion {what} '{value}'. Check your federated identity credential Subject, "
        f"Audience and Issuer against the presented assertion. {FEDERATION_DOCS}"
    )


def _keys_for(state: EmulatorState, issuer_url: str, credentials: list[dict]) -> jwt.PyJWKSet:
    """The issuer's published keys: the demo issuer's, or those a test registered with a
    credential for an issuer the emulator does not serve (it fetches nothing)."""
    if issuer_url == demo_issuer_url(state):
        return jwt.PyJWKSet.from_dict(current_app.extensions["federated_issuer"].jwks())
    return jwt.PyJWKSet.from_dict(
        {"keys": [k for c in credentials for k in c.get("jwks", {}).get("keys", [])]}
    )


def _verify_signature(state: EmulatorState, assertion: Assertion, credentials: list[dict]):
    failed = invalid_client(
        "AADSTS700027: Client assertion failed signature validation: the token is not signed "
        f"by a key the issuer '{assertion.claims['iss']}' publishes."
    )
    try:
        keys = _keys_for(state, assertion.claims["iss"], credentials)
        key = next((k for k in keys.keys if k.key_id == assertion.header.get("kid")), None)
    except jwt.PyJWTError:
        raise failed from None
    if key is None:
        raise failed
    try:
        jwt.decode(
            assertion.raw,
            key,
            algorithms=ALGORITHMS,
            options={"verify_aud": False, "verify_exp": False, "verify_nbf": False},
        )
    except (jwt.PyJWTError, TypeError, ValueError):
        raise failed from None


def authenticate(state: EmulatorState, assertion: Assertion, client_id: str | None) -> str:
    """The client id a federated assertion proves: a credential of that app names its
    issuer, one of its audiences and its subject, exactly; OAuthError otherwise."""
    if not client_id:
        raise OAuthError(
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
        )
    client = state.directory.find_client(client_id)
    if client is None:
        raise OAuthError(
            "unauthorized_client",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
            "directory.",
        )
    claims = assertion.claims
    by_issuer = [
        c
        for c in client.get("federatedIdentityCredentials", [])
        if resolve_issuer(state, c["issuer"]) == claims.get("iss")
    ]
    if not by_issuer:
        raise _no_match("issuer", claims.get("iss"))
    _verify_signature(state, assertion, by_issuer)
    sent = claims.get("aud")
    audiences = [a for a in (sent if isinstance(sent, list) else [sent]) if isinstance(a, str)]
    by_audience = [c for c in by_issuer if set(c["audiences"]) & set(audiences)]
    if not by_audience:
        raise _no_match("audience", ", ".join(audiences))
    if not any(c["subject"] == claims.get("sub") for c in by_audience):
        raise _no_match("subject", claims.get("sub"))
    check_lifetime(claims, state.clock.now())
    return client_id
