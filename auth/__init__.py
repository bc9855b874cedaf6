"""Sign-in with the Microsoft identity platform, and tokens for the signed-in user.

- `pending`: sign-ins under way (no msal); `identity`: the only msal code;
- `sign_in`: /login to the redirect URI, and sign-out; `tokens`: access tokens;
- `policy`: what to do when Graph refuses a token; `decorator`: `login_required`;
- `views`: the blueprint; `user_session`: what the session holds;
- `refresh_lock`: one token refresh at a time per session, across workers;
- `token_cache_crypto`: the token cache encrypted in the session store;
- `authorization`: app roles and groups; `credentials`: the app's own credential.

Bind with `auth.init_app(app, settings, store)`, the session store, after the page
blueprints are registered: it collects the scopes their `login_required` views declare.
"""

from __future__ import annotations

from cachelib import BaseCache
from flask import Flask, g

from app_config import Settings
from expiring_files import ExpiringFileCache

from . import authorization, token_cache_crypto, user_session
from .authorization import AccessNotGranted, app_roles, groups_source
from .credentials import CredentialUnavailable
from .decorator import REQUIREMENT_ATTRIBUTE, is_personal_account, login_required, page_scopes
from .errors import AuthError, PersonalAccountNotSupported, SignInRequired
from .identity import Identity
from .pending import PendingSignIns
from .policy import Action, Decision, after_graph_refusal
from .refresh_lock import build_refresh_lock
from .sign_in import admin_consent_url, current_path
from .state import AuthState, PageRequirement, current_state
from .user_session import SignedInUser, current_user
from .views import (
    allow_sign_out_redirect,
    build_blueprint,
    forget_signed_out,
    sign_in_redirect,
    signed_out_outcome,
)

__all__ = [
    "AccessNotGranted",
    "Action",
    "AuthError",
    "CredentialUnavailable",
    "Decision",
    "PersonalAccountNotSupported",
    "SignInRequired",
    "SignedInUser",
    "admin_consent_url",
    "app_roles",
    "can_open",
    "current_path",
    "after_graph_refusal",
    "current_page_scopes",
    "current_state",
    "current_user",
    "forget_signed_out",
    "groups_source",
    "id_token_claims",
    "init_app",
    "login_required",
    "sign_in_redirect",
    "signed_out_outcome",
]


def init_app(app: Flask, settings: Settings, store: BaseCache) -> None:
    pages = {
        endpoint: getattr(view, REQUIREMENT_ATTRIBUTE)
        for endpoint, view in app.view_functions.items()
        if hasattr(view, REQUIREMENT_ATTRIBUTE)
    }
    declared = frozenset(scope for requirement in pages.values() for scope in requirement.scopes)
    app.extensions["auth"] = AuthState(
        settings=settings,
        identity=Identity(settings),
        pending=PendingSignIns(_pending_store(settings, store), lifetime=settings.sign_in_timeout),
        sessions=store,
        refresh_lock=build_refresh_lock(settings),
        pages=pages,
        declared_scopes=declared,
    )
    token_cache_crypto.init_app(app, settings)
    app.register_blueprint(build_blueprint(settings.redirect_path))
    app.before_request(_load_user)
    app.context_processor(_sign_out_form)
    app.after_request(allow_sign_out_redirect)


def _pending_store(settings: Settings, store: BaseCache) -> BaseCache:
    """Redis expires each key by its TTL; files go to their own folder, pruned by expiry."""
    if settings.session_type == "redis":
        return store
    return ExpiringFileCache(settings.sign_in_file_dir, max_timeout=settings.sign_in_timeout)


def can_open(endpoint: str) -> bool:
    """Whether the signed-in user's kind of account, app roles and groups (as far as
    known without calling Graph) let them use the page at `endpoint`."""
    requirement = current_state().pages.get(endpoint, PageRequirement())
    user = user_session.current_user()
    if requirement.organizations_only and user and is_personal_account(user):
        return False
    return user is None or authorization.may_open(requirement)


def current_page_scopes(endpoint: str | None) -> tuple[str, ...]:
    """The scopes the page at `endpoint` needs (the app's SCOPE for pages declaring none)."""
    requirement = current_state().pages.get(endpoint or "", PageRequirement())
    return page_scopes(requirement)


def id_token_claims() -> dict:
    """The signed-in user's ID token claims ({} when signed out or none is kept)."""
    return authorization.token_claims()


def _sign_out_form() -> dict:
    # Read, never created here: a page view that changes nothing writes no session.
    return {"csrf_token": user_session.csrf_token() if g.get("user") else None}


def _load_user() -> None:
    g.user = user_session.current_user()
