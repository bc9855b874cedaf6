"""The token cache encrypted at rest, so a reader of the session store gets no tokens.

MSAL's serialized cache (refresh, access and ID tokens) is sealed with Fernet
(AES-128-CBC and HMAC-SHA256, from `cryptography`) under TOKEN_CACHE_KEY before it
enters the session, and opened when it is read; `user_session` is the only caller.
Several keys, newest first, allow rotation: a cache is sealed with the newest and
opened with any, so a cache sealed under an older key is sealed under the newest at
its next write (the next token refresh or sign-in). Not re-sealed when read
(MultiFernet.rotate): that would write sessions on page views that write nothing now,
and a write as a request ends could put back a cache older than a concurrent refresh.

A sealed cache that no key opens (sealed under a retired key, altered, truncated, or
stored before encryption) reads as no cache: the user signs in again.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

from app_config import Settings

log = logging.getLogger(__name__)
EXTENSION = "token_cache_crypto"


class TokenCacheCrypto:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, serialized: str) -> str:
        return self._fernet.encrypt(serialized.encode()).decode("ascii")

    def open(self, sealed: object) -> str | None:
        """The serialized cache, or None when there is none these keys can open."""
        if not sealed:
            return None
        try:
            # A Fernet token is ASCII (and base64 would raise ValueError on anything else).
            if not isinstance(sealed, str) or not sealed.isascii():
                raise InvalidToken
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            log.warning("token cache unreadable (a retired TOKEN_CACHE_KEY, or altered)")
            return None


def init_app(app: Flask, settings: Settings) -> None:
    keys = settings.token_cache_keys
    if not keys:
        log.warning(
            "TOKEN_CACHE_KEY is not set: using a random key; after a restart, users sign in again."
        )
        keys = (Fernet.generate_key().decode(),)
    app.extensions[EXTENSION] = TokenCacheCrypto(keys)


def seal(serialized: str) -> str:
    """The token cache as the session store keeps it."""
    return current_app.extensions[EXTENSION].seal(serialized)


def unseal(sealed: object) -> str | None:
    """The token cache from what the session store keeps, or None if it cannot be read."""
    return current_app.extensions[EXTENSION].open(sealed)
