"""Signing in and out: from /login to the redirect URI, and the identity provider's sign-out."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote, urlencode, urlsplit

from flask import Response, abort, redirect, request, url_for
from werkzeug.exceptions import SecurityError

from . import user_session
from .errors import AuthError
from .identity import log_safe
from .pending import Expired, StartedElsewhere
from .state import current_state
from .user_session import SignedInUser

log = logging.getLogger(__name__)
# Each /login keeps its `next` and `claims` until the callback, so both are capped.
# Longer than any link of this app (a "more" link's cursor is under 1 KB); else home.
MAX_NEXT_LENGTH = 1024
# Claims challenges (CAE, Conditional Access) are JSON of about 100 bytes; longer ones
# (as stored, escapes included) are ignored.
MAX_CLAIMS_LENGTH = 512
# A host name has at most 253 characters; a longer Host header is no browser's.
MAX_REDIRECT_URI_LENGTH = 300


def safe_next_path(value: str | None) -> str:
    """Return `value` if it is a path on this site, else '/' (no open redirects)."""
    if not value or len(value) > MAX_NEXT_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash and drop tabs and newlines.
    if "\\" in value or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def current_path() -> str:
    """This page's path and query, as a link back to it after sign-in.

    Quoted: werkzeug's `request.full_path` is decoded, and a folder name with a space
    would make `safe_next_path` send the user home instead.
    """
    path = quote(request.script_root + request.path, safe="/!$&'()*+,;=:@")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


def start(next_path: str, extra_scopes: Iterable[str] = (), claims: str | None = None) -> Response:
    """Begin the auth-code flow and return the redirect to the identity provider."""
    state = current_state()
    base = state.settings.scopes
    extra = tuple(s for s in extra_scopes if s in state.declared_scopes and s not in base)
    redirect_uri = _redirect_uri()
    if len(redirect_uri) > MAX_REDIRECT_URI_LENGTH:
        abort(400, "That address is not this site's.")
    user = user_session.current_user()
    flow = state.identity.start(
        [*base, *extra],
        redirect_uri=redirect_uri,
        claims=claims,
        login_hint=user.username if user and user.username else None,
        next_path=next_path,
    )
    binding = state.pending.save(request, flow, next_path, extra)
    return state.pending.set_binding(redirect(flow["auth_uri"]), binding, https=request.is_secure)


def complete(auth_response: dict[str, str]) -> str:
    """Finish the flow with the identity provider's response; return where to go next."""
    state = current_state()
    try:
        pending = state.pending.take(request, auth_response.get("state"))
    except Expired as expired:
        log.warning("sign-in failed: no pending sign-in for this response")
        raise AuthError("expired", next_path=expired.next_path) from None
    except StartedElsewhere as elsewhere:
        log.warning("sign-in failed: response reached a browser that did not start it")
        raise AuthError("elsewhere", next_path=elsewhere.next_path) from None
    if "error" in auth_response:
        error = auth_response.get("error", "")
        description = auth_response.get("error_description")
        log.warning("sign-in failed: identity provider returned %s", log_safe(error))
        reason, status = _failure_reason(error, description or "", pending.extra_scopes)
        raise AuthError(
            reason,
            status=status,
            error=error,
            description=description,
            scopes=pending.extra_scopes,
            next_path=pending.next_path,
        )
    # Read before redeeming: MSAL pops it from the flow.
    answered_claims = pending.flow.get("claims_challenge")
    redeemed = state.identity.redeem(pending.flow, auth_response, pending.next_path)
    claims = redeemed.claims
    user = SignedInUser(
        name=claims.get("name") or claims.get("preferred_username") or "",
        username=claims.get("preferred_username") or "",
        home_account_id=redeemed.home_account_id,
        login_hint=claims.get("login_hint"),
        tenant_id=claims.get("tid"),
    )
    user_session.begin(user, redeemed.token_cache, claims=answered_claims)
    state.pending.mark_completed(pending)
    log.info("sign-in completed")
    return pending.next_path


def _failure_reason(error: str, description: str, extra_scopes: tuple[str, ...]):
    """Why the identity provider refused, as (AuthError reason, HTTP status)."""
    # "Need admin approval" (AADSTS90094; 90095 with the admin consent workflow): the
    # way back from that page is access_denied with error_subcode=cancel.
    if error == "access_denied" and ("AADSTS90094" in description or "AADSTS90095" in description):
        return "admin_approval", 403
    # AADSTS70011: e.g. a personal account asked for an organization-only permission.
    if error == "invalid_scope":
        return "unavailable_scope", 400
    if error == "access_denied" and extra_scopes:
        return "declined", 400
    return "idp_error", 400


def home_url() -> str:
    """The app's home page on its configured origin (REDIRECT_URI's), for the IdP to return to."""
    configured = current_state().settings.redirect_uri
    if configured:
        parts = urlsplit(configured)
        return f"{parts.scheme}://{parts.netloc}/"
    return url_for("main.index", _external=True)


def admin_consent_url(scopes: tuple[str, ...]) -> str | None:
    """Where an administrator grants `scopes` for the whole organization, if anywhere."""
    return current_state().identity.admin_consent_url(scopes, home_url())


def sign_out_url() -> str | None:
    """The identity provider's end-session URL for the current user, or None if unknown."""
    endpoint = current_state().identity.end_session_endpoint()
    if not endpoint:
        return None
    params = {"post_logout_redirect_uri": home_url()}
    user = user_session.current_user()
    if user and user.login_hint:
        params["logout_hint"] = user.login_hint
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def _redirect_uri() -> str:
    settings = current_state().settings
    if settings.redirect_uri:
        return settings.redirect_uri
    # From the request only for a host *and port* the configuration names (or in
    # development, where neither is set): a Host header must not pick the redirect URI.
    if settings.trusted_hosts and not _is_trusted_host_and_port(request.host):
        raise SecurityError("untrusted host for the redirect URI")
    return url_for("auth.callback", _external=True)


def _is_trusted_host_and_port(host: str) -> bool:
    host = host.lower()
    for entry in current_state().settings.trusted_hosts:
        entry = entry.lower()
        if entry.startswith("."):
            name, _, port = entry.partition(":")
            got_name, _, got_port = host.partition(":")
            if got_name.endswith(name) and got_port == port:
                return True
        elif host == entry:
            return True
    return False
