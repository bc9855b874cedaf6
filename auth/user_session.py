"""What the server-side session holds for a signed-in user, under named keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from flask import current_app, session

from . import token_cache_crypto

USER = "user"
# MSAL's serialized cache, encrypted (token_cache_crypto): read and written only below.
TOKEN_CACHE = "token_cache"  # noqa: S105 - a session key, not a secret
SIGNED_IN_AT = "signed_in_at"
REFRESHED_AT = "tokens_refreshed_at"
# The claims challenge the last sign-in answered, if any: the CAE loop guard.
SIGN_IN_CLAIMS = "sign_in_claims"


@dataclass(frozen=True)
class SignedInUser:
    name: str
    username: str
    home_account_id: str
    login_hint: str | None = None
    tenant_id: str | None = None


def current_user() -> SignedInUser | None:
    stored = session.get(USER)
    return SignedInUser(**stored) if stored else None


def begin(user: SignedInUser, token_cache: str, claims: str | None = None) -> None:
    """Replace whatever the session held with this user, under a new session id."""
    session.clear()
    session[USER] = asdict(user)
    save_token_cache(token_cache)
    session[SIGNED_IN_AT] = int(time.time())
    if claims:
        session[SIGN_IN_CLAIMS] = claims
    # A fresh session id on sign-in: no session fixation.
    current_app.session_interface.regenerate(session)


def end() -> None:
    """Sign out: the session ends server-side for good, and its cookie is cleared."""
    current_app.session_interface.end(session)


def csrf_token() -> str:
    """What the Sign out form posts back: other sites cannot know it (no logout CSRF).

    An HMAC of the session id under the app's key, so sign-out can check it even when
    the session store is down.
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"sign-out:" + session.sid.encode(), hashlib.sha256).hexdigest()


def is_own_form(token: str | None) -> bool:
    """Whether a posted form carries this session's token."""
    return bool(token) and hmac.compare_digest(csrf_token().encode(), token.encode())


def token_cache() -> str | None:
    """This session's token cache; None if it has none this app's keys can open."""
    return token_cache_in(session)


def token_cache_in(record: Mapping) -> str | None:
    """The token cache of a session record as the store holds it."""
    return token_cache_crypto.unseal(record.get(TOKEN_CACHE))


def token_cache_fingerprint() -> str | None:
    """A digest of the token cache as the session stores it, None without one: it changes
    whenever the cache does, and costs no parsing (nor decryption, were it encrypted)."""
    stored = session.get(TOKEN_CACHE)
    return hashlib.sha256(stored.encode()).hexdigest() if isinstance(stored, str) else None


def save_token_cache(serialized: str) -> None:
    session[TOKEN_CACHE] = token_cache_crypto.seal(serialized)


def mark_refreshed() -> None:
    session[REFRESHED_AT] = int(time.time())


def signed_in_within(seconds: int) -> bool:
    return time.time() - session.get(SIGNED_IN_AT, 0) < seconds


def signed_in_with_claims(claims: str) -> bool:
    """Whether the last sign-in already answered this claims challenge."""
    carried = session.get(SIGN_IN_CLAIMS)
    if not carried:
        return False
    try:
        return json.loads(carried) == json.loads(claims)
    except ValueError:
        return False


def refreshed_within(seconds: int) -> bool:
    return time.time() - session.get(REFRESHED_AT, 0) < seconds
