"""Sign-in with the Microsoft identity platform: the only module that imports msal.

`Auth` wraps MSAL's auth-code flow (PKCE, state and nonce come from MSAL) and
keeps each user's token cache in their server-side session. Its blueprint
serves /login, the redirect URI and /logout; `login_required` guards pages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

import msal
import requests
from cachelib import BaseCache
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    request,
    session,
    url_for,
)

from app_config import Settings
from session_store import StoreUnavailable

log = logging.getLogger(__name__)

SESSION_USER = "user"
SESSION_TOKEN_CACHE = "token_cache"  # noqa: S105 - a session key, not a secret
SESSION_SIGNED_IN_AT = "signed_in_at"
SESSION_REFRESHED_AT = "tokens_refreshed_at"
FLOW_KEY_PREFIX = "authflow:"
# Binds pending sign-ins to the browser that started them. SameSite=None so it
# comes back with the identity provider's cross-site form_post.
FLOW_COOKIE = "auth_flow"
LEGACY_SUFFIX = "_legacy"
_BINDING = re.compile(r"^[A-Za-z0-9_\-]{43}$")
FLOW_LIFETIME_SECONDS = 600
# A Graph refusal this soon after signing in is shown, not answered with another sign-in.
RECENT_SIGN_IN_SECONDS = 60
# The tenant every personal Microsoft account (outlook.com, live.com) belongs to.
PERSONAL_ACCOUNTS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
HTTP_TIMEOUT = (3.05, 15)
# The scopes pages declare with login_required: the only ones /login asks for on request.
DECLARED_SCOPES: set[str] = set()


class AuthError(Exception):
    """A sign-in that could not be completed; shown as a friendly page."""

    def __init__(
        self,
        title: str,
        detail: str,
        *,
        status: int = 400,
        error: str | None = None,
        description: str | None = None,
        scopes: Iterable[str] = (),
        next_path: str = "/",
    ) -> None:
        super().__init__(title)
        self.title = title
        self.detail = detail
        self.status = status
        self.error = error
        self.description = description
        self.scopes = tuple(scopes)
        self.next_path = next_path

    @classmethod
    def unreachable(cls, detail: str, next_path: str) -> AuthError:
        """The identity provider did not answer: a gateway error, not the user's fault."""
        return cls(
            "The sign-in service could not be reached", detail, status=502, next_path=next_path
        )


class PersonalAccountNotSupported(Exception):
    """The page needs a work or school directory, which personal accounts lack."""


@dataclass
class SignInRequired(Exception):
    """No token can be had silently: the user must go through the sign-in page."""

    scopes: tuple[str, ...] = ()
    claims: str | None = None
    reason: str = "sign-in required"


@dataclass
class _AuthState:
    settings: Settings
    flow_store: BaseCache
    # Shared by every MSAL app of this process: OIDC discovery is fetched once.
    http_cache: dict = field(default_factory=dict)
    http_client: requests.Session = field(default_factory=lambda: _TimeoutSession())
    metadata: dict | None = None
    metadata_lock: threading.Lock = field(default_factory=threading.Lock)


class _TimeoutSession(requests.Session):
    """A pooled session for MSAL's calls that never waits without a limit."""

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, **kwargs)


def safe_next_path(value: str | None) -> str:
    """Return `value` if it is a path on this site, else '/' (no open redirects)."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash and drop tabs and newlines.
    if "\\" in value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


class Auth:
    """Flask extension: `auth.init_app(app, settings, flow_store)`."""

    def init_app(self, app: Flask, settings: Settings, flow_store: BaseCache) -> None:
        app.extensions["auth"] = _AuthState(settings=settings, flow_store=flow_store)
        app.register_blueprint(_build_blueprint(settings.redirect_path))
        app.before_request(_load_user)

    @property
    def _state(self) -> _AuthState:
        return current_app.extensions["auth"]

    # -- MSAL ---------------------------------------------------------------

    def _msal_app(self, token_cache: msal.TokenCache | None = None):
        s = self._state.settings
        return msal.ConfidentialClientApplication(
            s.client_id,
            client_credential=s.client_secret,
            authority=s.authority,
            oidc_authority=s.oidc_authority,
            instance_discovery=s.instance_discovery,
            token_cache=token_cache,
            http_cache=self._state.http_cache,
            http_client=self._state.http_client,
            # CP1: we can handle claims challenges (Continuous Access Evaluation).
            client_capabilities=["CP1"],
            app_name="ms-identity-flask-webapp",
        )

    def _redirect_uri(self) -> str:
        s = self._state.settings
        return s.redirect_uri or url_for("auth.callback", _external=True)

    # -- Sign-in ------------------------------------------------------------

    def start_sign_in(
        self, next_path: str, extra_scopes: Iterable[str] = (), claims: str | None = None
    ):
        """Begin the auth-code flow and return the redirect to the identity provider."""
        base = self._state.settings.scopes
        extra = [s for s in extra_scopes if s in DECLARED_SCOPES and s not in base]
        # Someone already signed in (consent, claims, expired grant) goes back as
        # themselves, with no account picker; a new sign-in may pick an account.
        known = (self.get_user() or {}).get("username")
        try:
            flow = self._msal_app().initiate_auth_code_flow(
                list(base) + extra,
                redirect_uri=self._redirect_uri(),
                response_mode="form_post",
                claims_challenge=claims,
                login_hint=known or None,
                prompt=None if known else "select_account",
            )
        except (ValueError, requests.RequestException) as exc:
            log.warning("could not start sign-in: %s", type(exc).__name__)
            raise AuthError.unreachable(
                "We could not read the identity provider's configuration. "
                "Check AUTHORITY / TENANT_ID and your network, then try again.",
                next_path,
            ) from None
        # One binding per browser, shared by its pending sign-ins (several tabs).
        binding = _flow_binding()
        if not _BINDING.match(binding):
            binding = secrets.token_urlsafe(32)
        record = {"flow": flow, "binding": _digest(binding), "next": next_path, "extra": extra}
        key = FLOW_KEY_PREFIX + _digest(flow["state"])
        if not self._state.flow_store.set(key, record, timeout=FLOW_LIFETIME_SECONDS):
            raise StoreUnavailable("the pending sign-in could not be saved")
        response = redirect(flow["auth_uri"])
        _set_flow_cookies(response, binding, FLOW_LIFETIME_SECONDS)
        return response

    def complete_sign_in(self, auth_response: dict[str, str]) -> str:
        """Finish the flow with the IdP's response; return where the user goes next."""
        record = self._take_flow(auth_response.get("state"))
        next_path = record["next"]
        if "error" in auth_response:
            error = auth_response.get("error", "")
            log.warning("sign-in failed: identity provider returned %s", _short(error))
            declined = error == "access_denied" and bool(record["extra"])
            raise AuthError(
                "You declined the permission" if declined else "Sign-in did not complete",
                "The identity provider returned an error.",
                error=error,
                description=auth_response.get("error_description"),
                scopes=record["extra"],
                next_path=next_path,
            )
        token_cache = msal.SerializableTokenCache()
        msal_app = self._msal_app(token_cache)
        try:
            result = msal_app.acquire_token_by_auth_code_flow(record["flow"], auth_response)
        except requests.RequestException as exc:
            log.warning("sign-in failed: token endpoint unreachable (%s)", type(exc).__name__)
            raise AuthError.unreachable(
                "We could not redeem the sign-in with the identity provider. Try again.",
                next_path,
            ) from None
        except Exception as exc:  # noqa: BLE001 - forged input makes MSAL raise many types
            # MSAL may have cached tokens before rejecting them; token_cache is dropped.
            log.warning("sign-in failed: response rejected (%s)", type(exc).__name__)
            raise AuthError(
                "Sign-in could not be verified",
                "The response from the identity provider did not match this sign-in.",
                next_path=next_path,
            ) from None
        if "error" in result:
            log.warning("sign-in failed: token endpoint returned %s", _short(result["error"]))
            raise AuthError(
                "Sign-in did not complete",
                "The identity provider refused to finish the sign-in.",
                error=result.get("error"),
                description=result.get("error_description"),
                next_path=next_path,
            )
        claims = result.get("id_token_claims") or {}
        accounts = msal_app.get_accounts()
        if len(accounts) != 1:
            log.warning("sign-in failed: expected one account, got %d", len(accounts))
            raise AuthError(
                "Sign-in could not be verified",
                "The identity provider's answer named no account.",
                next_path=next_path,
            )
        session.clear()
        session[SESSION_USER] = {
            "name": claims.get("name") or claims.get("preferred_username") or "",
            "username": claims.get("preferred_username") or "",
            "home_account_id": accounts[0]["home_account_id"],
            "login_hint": claims.get("login_hint"),
            "tenant_id": claims.get("tid"),
        }
        session[SESSION_TOKEN_CACHE] = token_cache.serialize()
        session[SESSION_SIGNED_IN_AT] = int(time.time())
        # A fresh session id on sign-in: no session fixation.
        current_app.session_interface.regenerate(session)
        log.info("sign-in completed")
        return next_path

    def _take_flow(self, state: str | None) -> dict:
        """Fetch and delete the pending flow for `state`; it is used at most once."""
        store = self._state.flow_store
        key = FLOW_KEY_PREFIX + _digest(state or "")
        record = store.get(key) if state else None
        if record is None or not store.delete(key):
            log.warning("sign-in failed: no pending sign-in for this response")
            raise AuthError(
                "Your sign-in expired",
                "We have no record of this sign-in. It may have taken longer than "
                f"{FLOW_LIFETIME_SECONDS // 60} minutes, or your browser blocked cookies. "
                "Please start again.",
            )
        if not hmac.compare_digest(record["binding"], _digest(_flow_binding())):
            log.warning("sign-in failed: response reached a browser that did not start it")
            raise AuthError(
                "This sign-in was started elsewhere",
                "The sign-in response did not come back to the browser that started it, "
                "so we did not accept it. Please start again in this browser.",
                next_path=record["next"],
            )
        return record

    # -- Signed-in user -----------------------------------------------------

    def get_user(self) -> dict | None:
        return session.get(SESSION_USER)

    def get_token(self, scopes: Iterable[str], *, force_refresh: bool = False) -> str:
        """An access token for `scopes`, from the cache or refreshed; else SignInRequired.

        `force_refresh` redeems the refresh token even if the cached access token
        looks valid: for when Graph has rejected it.
        """
        scopes = list(scopes)
        user = self.get_user()
        if not user:
            raise SignInRequired(tuple(scopes), reason="not signed in")
        token_cache = msal.SerializableTokenCache()
        token_cache.deserialize(session.get(SESSION_TOKEN_CACHE))
        msal_app = self._msal_app(token_cache)
        account = next(
            (
                a
                for a in msal_app.get_accounts()
                if a.get("home_account_id") == user["home_account_id"]
            ),
            None,
        )
        if account is None:
            raise SignInRequired(tuple(scopes), reason="no account in token cache")
        try:
            result = msal_app.acquire_token_silent_with_error(
                scopes, account, force_refresh=force_refresh
            )
        except requests.RequestException as exc:
            log.warning("token refresh failed: %s", type(exc).__name__)
            raise AuthError.unreachable(
                "We could not renew your access to Microsoft Graph. Try again shortly.",
                request.full_path,
            ) from None
        if token_cache.has_state_changed:
            session[SESSION_TOKEN_CACHE] = token_cache.serialize()
        if force_refresh:
            session[SESSION_REFRESHED_AT] = int(time.time())
        if result and "access_token" in result:
            return result["access_token"]
        reason = (result or {}).get("suberror") or (result or {}).get("error") or "no token"
        raise SignInRequired(tuple(scopes), reason=reason)

    def signed_in_recently(self) -> bool:
        return time.time() - session.get(SESSION_SIGNED_IN_AT, 0) < RECENT_SIGN_IN_SECONDS

    def refreshed_recently(self) -> bool:
        return time.time() - session.get(SESSION_REFRESHED_AT, 0) < RECENT_SIGN_IN_SECONDS

    # -- Sign-out -----------------------------------------------------------

    def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """The IdP's end-session URL for the current user, or None if it has none."""
        endpoint = self._metadata().get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"post_logout_redirect_uri": post_logout_redirect_uri}
        hint = (self.get_user() or {}).get("login_hint")
        if hint:
            params["logout_hint"] = hint
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    def _metadata(self) -> dict:
        """The authority's OIDC discovery document, fetched once per process."""
        state = self._state
        with state.metadata_lock:
            if state.metadata is None:
                try:
                    response = state.http_client.get(state.settings.discovery_url)
                    response.raise_for_status()
                    state.metadata = response.json()
                except (requests.RequestException, ValueError) as exc:
                    log.warning("OIDC discovery failed: %s", type(exc).__name__)
                    return {}
            return state.metadata


auth = Auth()


def login_required(
    scopes: Iterable[str] | None = None, *, organizations_only: bool = False
) -> Callable:
    """Guard a view: the user must be signed in and a token for `scopes` obtainable.

    The token is left in `g.access_token`; `g.scopes` names what the page needs.
    `organizations_only` pages explain themselves to personal accounts instead.
    """
    page_scopes = tuple(scopes or ())
    DECLARED_SCOPES.update(page_scopes)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            wanted = page_scopes or current_app.extensions["auth"].settings.scopes
            g.scopes = wanted
            user = auth.get_user()
            if organizations_only and user and user.get("tenant_id") == PERSONAL_ACCOUNTS_TENANT:
                raise PersonalAccountNotSupported()
            g.access_token = auth.get_token(wanted)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def sign_in_redirect(error: SignInRequired):
    """Send the browser through sign-in (or consent) and back to this page."""
    log.info("asking the user to sign in (%s)", _short(error.reason))
    params: dict[str, Any] = {"next": request.full_path.rstrip("?")}
    if error.scopes:
        params["scope"] = list(error.scopes)
    if error.claims:
        params["claims"] = error.claims
    return redirect(url_for("auth.login", **params))


def _load_user() -> None:
    g.user = session.get(SESSION_USER)


def _build_blueprint(redirect_path: str) -> Blueprint:
    bp = Blueprint("auth", __name__)

    @bp.route("/login")
    def login():
        """Start signing in with Microsoft."""
        claims = request.args.get("claims")
        if claims is not None and not _is_json_object(claims):
            claims = None
        return auth.start_sign_in(
            safe_next_path(request.args.get("next")),
            extra_scopes=request.args.getlist("scope"),
            claims=claims,
        )

    @bp.route(redirect_path, methods=["GET", "POST"])
    def callback():
        """The redirect URI: Microsoft sends the user back here after sign-in."""
        response = request.form if request.method == "POST" else request.args
        next_path = auth.complete_sign_in(response.to_dict())
        return redirect(next_path, code=303)

    @bp.route("/logout")
    def logout():
        """Sign out of this app and of the Microsoft account."""
        end_session = auth.logout_url(url_for("main.index", _external=True))
        session.clear()
        return redirect(end_session or url_for("main.index"))

    return bp


def _set_flow_cookies(response, value: str, max_age: int):
    """Set the binding twice, so every browser returns one of them cross-site.

    `SameSite=None; Secure` is what current browsers need (they accept Secure
    cookies on http://localhost). A browser or client that keeps Secure cookies
    off plain http still returns the copy without attributes, as ASP.NET Core's
    correlation cookie does for such clients.
    """
    options = {"max_age": max_age, "httponly": True}
    response.set_cookie(FLOW_COOKIE, value, secure=True, samesite="None", **options)
    response.set_cookie(FLOW_COOKIE + LEGACY_SUFFIX, value, **options)
    return response


def _flow_binding() -> str:
    return (
        request.cookies.get(FLOW_COOKIE) or request.cookies.get(FLOW_COOKIE + LEGACY_SUFFIX) or ""
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _short(value: object) -> str:
    """A log-safe rendering of an error code: short, one line."""
    return re.sub(r"[^A-Za-z0-9_.:\-]", "?", str(value))[:60]


def _is_json_object(value: str) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
