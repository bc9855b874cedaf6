"""Access tokens for the signed-in user, from their token cache in the session."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from . import user_session
from .errors import SignInRequired
from .state import current_state


def token_for(scopes: Iterable[str], *, force_refresh: bool = False) -> str:
    """An access token for `scopes`, from the cache or refreshed; else SignInRequired.

    `force_refresh` redeems the refresh token even if the cached access token
    looks valid: for when Graph has rejected it.
    """
    scopes = tuple(scopes)
    user = user_session.current_user()
    if user is None:
        raise SignInRequired(scopes, reason="not signed in")
    token, changed_cache = current_state().identity.acquire(
        user_session.token_cache(),
        user.home_account_id,
        scopes,
        force_refresh=force_refresh,
        next_path=request.full_path.rstrip("?"),
    )
    if changed_cache is not None:
        user_session.save_token_cache(changed_cache)
    if force_refresh:
        user_session.mark_refreshed()
    return token
