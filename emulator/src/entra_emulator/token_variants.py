"""Broken tokens on demand, so an app can prove its own token validation rejects them.

A variant waits until the next token response for its client and user, then changes the
ID token and/or access token in that response before signing: expired, not yet valid,
wrong signature (same kid, another key), wrong audience, wrong issuer, claims removed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .parsing import json_int
from .tokens import TokenSigner

KINDS = (
    "expired",
    "not_yet_valid",
    "wrong_signature",
    "wrong_audience",
    "wrong_issuer",
    "missing_claims",
)
TOKENS = ("id_token", "access_token")
SHIFT = 3600  # far outside any validator's clock-skew allowance (usually 5 minutes)
WRONG_AUDIENCE = "7e5fa0c1-0b31-4f43-9c0e-5c2d1a6b8f00"  # an app id that is not yours
WRONG_TENANT = "0b6f0a5e-3c1d-4e2f-8a9b-7c6d5e4f3a2b"  # a tenant that is not this one


class VariantError(ValueError):
    """A variant request the control API cannot accept."""


@dataclass(frozen=True)
class TokenVariant:
    kinds: tuple[str, ...]
    tokens: tuple[str, ...] = ("id_token",)
    client_id: str | None = None  # None: any client
    user_id: str | None = None  # None: any user
    missing_claims: tuple[str, ...] = ()
    remaining: int = 1

    def to_json(self) -> dict:
        return {
            "variant": list(self.kinds),
            "tokens": list(self.tokens),
            "client_id": self.client_id,
            "user": self.user_id,
            "claims": list(self.missing_claims),
            "remaining": self.remaining,
        }


def parse_variant(body: dict, user_id: str | None) -> TokenVariant:
    """From `{"variant": "expired" | [...], "tokens": [...], "client_id", "count", "claims"}`."""
    kinds = body.get("variant")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(KINDS):
        raise VariantError(f"'variant' must be one or a list of {', '.join(KINDS)}")
    tokens = body.get("tokens", ["id_token"])
    tokens = [tokens] if isinstance(tokens, str) else tokens
    if not isinstance(tokens, list) or not tokens or not set(tokens) <= set(TOKENS):
        raise VariantError("'tokens' must be 'id_token', 'access_token' or both in a list")
    claims = body.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(c, str) and c for c in claims):
        raise VariantError("'claims' must be a list of claim names")
    if ("missing_claims" in kinds) != bool(claims):
        raise VariantError("'missing_claims' and a non-empty 'claims' list go together")
    count = json_int(body.get("count", 1))
    if count is None or count < 1:
        raise VariantError("'count' must be a positive integer")
    client_id = body.get("client_id")
    if client_id is not None and not isinstance(client_id, str):
        raise VariantError("'client_id' must be a string")
    return TokenVariant(
        tuple(kinds), tuple(tokens), client_id, user_id, tuple(claims), remaining=count
    )


class TokenVariants:
    """Pending variants, first come first served; each lasts `remaining` token responses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[TokenVariant] = []

    def add(self, variant: TokenVariant) -> None:
        with self._lock:
            self._pending.append(variant)

    def take(self, client_id: str, user_id: str) -> TokenVariant | None:
        """The variant for this token response, if one waits for this client and user."""
        with self._lock:
            for i, variant in enumerate(self._pending):
                if variant.client_id not in (None, client_id):
                    continue
                if variant.user_id not in (None, user_id):
                    continue
                if variant.remaining > 1:
                    self._pending[i] = replace(variant, remaining=variant.remaining - 1)
                else:
                    del self._pending[i]
                return variant
        return None

    def pending(self) -> list[TokenVariant]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


def minter(
    signer: TokenSigner, variant: TokenVariant | None, token: str, tid: str
) -> Callable[[dict], str] | None:
    """A signing function that breaks `token` as the variant says; None to sign normally."""
    if variant is None or token not in variant.tokens:
        return None

    def mint(claims: dict) -> str:
        claims = dict(claims)
        lifetime = claims["exp"] - claims["iat"]
        if "expired" in variant.kinds:
            claims["exp"] = claims["iat"] - SHIFT
            claims["iat"] = claims["nbf"] = claims["exp"] - lifetime
        if "not_yet_valid" in variant.kinds:
            claims["iat"] = claims["nbf"] = claims["iat"] + SHIFT
            claims["exp"] = claims["nbf"] + lifetime
        if "wrong_audience" in variant.kinds:
            claims["aud"] = WRONG_AUDIENCE
        if "wrong_issuer" in variant.kinds:
            issuer = claims["iss"]
            claims["iss"] = (
                issuer.replace(tid, WRONG_TENANT) if tid in issuer else f"{issuer}/{WRONG_TENANT}"
            )
        for name in variant.missing_claims:
            claims.pop(name, None)
        if "wrong_signature" in variant.kinds:
            # The real kid, so a validator finds our published key and the check fails.
            return jwt.encode(claims, _other_key(), algorithm="RS256", headers={"kid": signer.kid})
        return signer.sign(claims)

    return mint


@functools.cache
def _other_key() -> rsa.RSAPrivateKey:
    """A key nobody publishes; made once per process because RSA generation is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
