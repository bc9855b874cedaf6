"""The auth extension's per-app state, kept in `app.extensions["auth"]`."""

from __future__ import annotations

from dataclasses import dataclass, field

from cachelib import BaseCache
from flask import current_app

from app_config import Settings

from .identity import Identity
from .pending import PendingSignIns
from .refresh_lock import RefreshLock


@dataclass(frozen=True)
class PageRequirement:
    """What a page guarded by `login_required` needs."""

    scopes: tuple[str, ...] = ()
    organizations_only: bool = False
    # One of these app roles, and membership in one of these groups (object ids).
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass
class AuthState:
    settings: Settings
    identity: Identity
    pending: PendingSignIns
    # The store flask-session keeps sessions in, and one refresh at a time per session.
    sessions: BaseCache
    refresh_lock: RefreshLock
    # Endpoint -> what it needs, collected from the registered views in init_app.
    pages: dict[str, PageRequirement] = field(default_factory=dict)
    # Every scope a page declares: the only ones /login asks for on request.
    declared_scopes: frozenset[str] = frozenset()


def current_state() -> AuthState:
    try:
        return current_app.extensions["auth"]
    except KeyError:
        raise RuntimeError("auth.init_app(app, settings, store) was not called") from None
