"""The token signing key, its JWKS, and minting/verifying JWTs."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .scopes import GRAPH_APP_ID, GRAPH_RESOURCE


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_info(oid: str, tid: str) -> str:
    """What Entra returns so MSAL can build home_account_id = uid.utid."""
    return b64url(json.dumps({"uid": oid, "utid": tid}).encode())


def pairwise_sub(oid: str, client_id: str) -> str:
    """Entra's sub is stable per user and per app, and differs across apps."""
    return b64url(hashlib.sha256(f"{oid}:{client_id}".encode()).digest())


def new_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenSigner:
    """The RS256 key tokens are signed with: a new one invalidates every token, like a key
    rollover; a kept one (persistence.signing_key) keeps them valid across restarts."""

    def __init__(self, key: rsa.RSAPrivateKey | None = None) -> None:
        self._key = key or new_signing_key()
        self.public_key = self._key.public_key()
        der = self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = b64url(hashlib.sha1(der).digest())  # noqa: S324 - an identifier, not security

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def id_token(
        self,
        *,
        issuer: str,
        client_id: str,
        user: dict,
        tid: str | None,
        nonce: str | None,
        sid: str,
        now: float,
        lifetime: int = 3600,
        mint: Callable[[dict], str] | None = None,
        optional_claims: tuple[str, ...] | list[str] = (),
        extra: dict | None = None,
    ) -> str:
        """An ID token issued at `now` (the emulator's clock); `mint` signs it another way.

        OPTIONAL_CLAIMS: what the app registration's token configuration adds (login_hint);
        EXTRA: claims about the user's memberships (roles, groups, wids; see
        membership_claims.py)."""
        now = int(now)
        claims = {
            "ver": "2.0",
            "iss": issuer,
            "aud": client_id,
            "sub": pairwise_sub(user["id"], client_id),
            "oid": user["id"],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "name": user["displayName"],
            "preferred_username": user["userPrincipalName"],
            "sid": sid,
        }
        if "login_hint" in optional_claims:
            # Opaque to apps; the emulator only uses it as logout_hint.
            claims["login_hint"] = b64url(f"O.{user['id']}".encode())
        if tid:
            claims["tid"] = tid
        claims.update(extra or {})
        if nonce:
            claims["nonce"] = nonce
        return (mint or self.sign)(claims)

    def access_token(
        self,
        *,
        issuer: str,
        client_id: str,
        user: dict,
        tid: str,
        scp: str,
        lifetime: int,
        now: float,
        mint: Callable[[dict], str] | None = None,
        extra: dict | None = None,
    ) -> tuple[str, str]:
        """Return (jwt, uti); uti lets the control API expire tokens already handed out.

        EXTRA adds claims such as `xms_cc` and `amr`."""
        now = int(now)
        uti = b64url(uuid.uuid4().bytes)
        claims = {
            "aud": GRAPH_RESOURCE,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": client_id,
            "azp": client_id,
            "scp": scp,
            "oid": user["id"],
            "sub": pairwise_sub(user["id"], GRAPH_APP_ID),
            "tid": tid,
            "upn": user["userPrincipalName"],
            "name": user["displayName"],
            "uti": uti,
            "ver": "1.0",
            **(extra or {}),
        }
        return (mint or self.sign)(claims), uti

    def verify_access_token(self, token: str, now: float) -> dict:
        """Check signature, audience and lifetime at `now`; raises jwt.PyJWTError subclasses."""
        claims = jwt.decode(
            token,
            self.public_key,
            algorithms=["RS256"],
            audience=[GRAPH_RESOURCE, GRAPH_APP_ID],
            # PyJWT would compare with the wall clock; the emulator's clock may be offset.
            options={
                "require": ["exp", "iat", "oid", "scp"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        exp, nbf = claims["exp"], claims.get("nbf", 0)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, nbf)):
            raise jwt.DecodeError("exp and nbf must be numbers")
        if exp <= now or nbf > now:
            raise jwt.ExpiredSignatureError("outside the token's validity window")
        return claims
