"""Access tokens for the signed-in user, from their token cache in the session.

A valid cached access token is answered without a lock and without writing anything;
once found, the worker remembers it (auth/token_memo.py) for as long as MSAL would
answer it from that same cache, so a repeat view does not search the cache again.
A refresh is single-flight per session: under the session's refresh lock the request
reads the token cache the store holds now (another request may have refreshed it
since this one began), uses it if it has a usable token, and otherwise refreshes and
writes the new cache to the store at once, so the requests waiting for the lock and
every request that starts later find it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, session

from session_store import StoreUnavailable

from . import user_session
from .errors import SignInRequired
from .sign_in import current_path
from .state import current_state
from .user_session import SignedInUser


def token_for(scopes: Iterable[str], *, force_refresh: bool = False) -> str:
    """An access token for `scopes`, from the cache or refreshed; else SignInRequired.

    `force_refresh` redeems the refresh token even if the cached access token
    looks valid: for when Graph has rejected it.
    """
    scopes = tuple(scopes)
    user = user_session.current_user()
    if user is None:
        raise SignInRequired(scopes, reason="not signed in")
    state = current_state()
    # An empty cache (fingerprint None) holds no token, so nothing is remembered under it.
    memo_key = (user_session.token_cache_fingerprint(), user.home_account_id, scopes)
    remembered = None if force_refresh else state.token_memo.get(memo_key)
    if remembered is not None:
        return remembered
    identity = state.identity
    own_cache = user_session.token_cache()
    found = identity.cached_token(own_cache, user.home_account_id, scopes)
    cached = found.access_token if found else None
    if found is not None and not force_refresh:
        state.token_memo.remember(memo_key, found.access_token, found.usable_until)
        return found.access_token
    unchanged_before = not session.modified
    with state.refresh_lock.held(session.sid):
        stored = _stored_session(user)
        latest = user_session.token_cache_in(stored) if stored else own_cache
        if latest != own_cache:
            renewed = identity.cached_token(latest, user.home_account_id, scopes)
            # Under force_refresh, only a token other than the one Graph refused will do.
            if renewed is not None and renewed.access_token != cached:
                _keep(user, latest, force_refresh, unchanged_before)
                return renewed.access_token
        token, changed_cache = identity.acquire(
            latest,
            user.home_account_id,
            scopes,
            force_refresh=force_refresh,
            next_path=current_path(),
        )
        _keep(user, changed_cache or latest, force_refresh, unchanged_before)
        return token


def _stored_session(user: SignedInUser) -> dict | None:
    """This session as the store holds it now, while it is still this user's."""
    record = current_state().sessions.get(_store_key())
    if not isinstance(record, dict):
        return None  # signed out, or expired
    stored_user = record.get(user_session.USER) or {}
    return record if stored_user.get("home_account_id") == user.home_account_id else None


def _keep(
    user: SignedInUser, token_cache: str | None, refreshed: bool, unchanged_before: bool
) -> None:
    """Put TOKEN_CACHE (and the time of a forced refresh) in this request's session, and
    into the stored session now, under the lock, rather than when the response is sent:
    a write at the end of a slow request could put back a cache older than a later one."""
    if token_cache != user_session.token_cache():
        user_session.save_token_cache(token_cache)
    if refreshed:
        user_session.mark_refreshed()
    # Read again: the session may have changed, or ended, while the refresh was under way.
    stored = _stored_session(user)
    if stored is None:
        return  # nothing to write into: what the response's own save does is its business
    keys = (user_session.TOKEN_CACHE, user_session.REFRESHED_AT)
    updated = stored | {key: session[key] for key in keys if key in session}
    if updated != stored:
        try:
            # The session interface's one write path: it honours sign-out and lifetimes.
            kept = current_app.session_interface.store(session.sid, updated)
        except StoreUnavailable:
            return  # the response's own save will try again, or answer 503
        if not kept:
            return  # signed out meanwhile: nothing to keep
    if unchanged_before:
        # The store holds all this request changed: writing it again when the response
        # is sent could only replace a newer refresh with this one.
        session.modified = False


def _store_key() -> str:
    # Where flask-session keeps this session in the store.
    return current_app.session_interface.key_prefix + session.sid
