"""The sign-in routes: /login, the redirect URI and /logout."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from security_headers import content_security_policy
from session_store import StoreUnavailable, log_outage, works_without_store

from . import outcome, sign_in, user_session
from .errors import AuthError, SignInRequired
from .identity import log_safe
from .pending import stored_length
from .state import current_state

log = logging.getLogger(__name__)
# Set by sign-out, read once by the home page: "everywhere", or "here" (not at Microsoft).
SIGNED_OUT_COOKIE = "signed_out"


def build_blueprint(redirect_path: str) -> Blueprint:
    bp = Blueprint("auth", __name__)

    @bp.route("/login")
    def login():
        """Start signing in with Microsoft."""
        claims = request.args.get("claims")
        return sign_in.start(
            sign_in.safe_next_path(request.args.get("next")),
            extra_scopes=request.args.getlist("scope"),
            claims=claims if claims is not None and _is_claims_challenge(claims) else None,
        )

    @bp.post(redirect_path)
    def callback():
        """The redirect URI: Microsoft posts the user back here after sign-in."""
        try:
            next_path = sign_in.complete(request.form.to_dict())
        except AuthError as failure:
            # Shown by the GET, which the session cookie comes with (see auth/outcome.py).
            response = redirect(url_for("auth.sign_in_outcome"), code=303)
            return outcome.remember(response, failure, path=redirect_path, https=request.is_secure)
        return outcome.forget(redirect(next_path, code=303), path=redirect_path)

    @bp.get(redirect_path)
    def sign_in_outcome():
        """How your sign-in went (and the redirect URI of a provider answering by query)."""
        try:
            if request.args:
                next_path = sign_in.complete(request.args.to_dict())
                return outcome.forget(redirect(next_path, code=303), path=redirect_path)
            raise outcome.recall(request) or AuthError("expired")
        except AuthError as failure:
            # The Back button re-runs the authorize request, whose answer is used up.
            if failure.reason == "expired" and g.user:
                return render_template("already_signed_in.html", next_path=failure.next_path)
            raise

    @bp.get("/logout")
    def logout_confirmation():
        """Ask before signing out: a GET that signed out would let any site do it."""
        return render_template("sign_out.html")

    @bp.post("/logout")
    @works_without_store
    def logout():
        """Sign out of this app and of the Microsoft account."""
        if not user_session.is_own_form(request.form.get("csrf_token")):
            abort(400, "That sign-out form is out of date. Go back, reload the page and try again.")
        end_session = sign_in.sign_out_url()
        try:
            user_session.end()
        except StoreUnavailable as outage:
            # The cookie is cleared all the same; the stored session expires by itself.
            log_outage(outage)
            log.info("sign-out completed in this browser; the stored session expires by itself")
            minutes = current_state().settings.session_idle_timeout // 60
            return render_template("signed_out_here.html", end_session=end_session, minutes=minutes)
        log.info("sign-out completed")
        response = redirect(end_session or url_for("main.index"), code=303)
        # The home page says so when the identity provider sends the browser back.
        outcome = "everywhere" if end_session else "here"
        response.set_cookie(SIGNED_OUT_COOKIE, outcome, max_age=600, httponly=True, samesite="Lax")
        return response

    return bp


def sign_in_redirect(error: SignInRequired) -> Response:
    """Send the browser through sign-in (or consent) and back to this page."""
    log.info("asking the user to sign in (%s)", log_safe(error.reason))
    params: dict[str, Any] = {"next": sign_in.current_path()}
    if error.scopes:
        params["scope"] = list(error.scopes)
    if error.claims:
        params["claims"] = error.claims
    return redirect(url_for("auth.login", **params))


def allow_sign_out_redirect(response: Response) -> Response:
    """Let the Sign out form's redirect reach the identity provider.

    Browsers apply the page's CSP form-action to the redirects after a form's POST, so
    pages that carry the Sign out button name the end-session endpoint's origin too.
    """
    if g.get("user"):
        endpoint = current_state().identity.end_session_endpoint()
        if endpoint:
            parts = urlsplit(endpoint)
            origin = f"{parts.scheme}://{parts.netloc}"
            response.headers["Content-Security-Policy"] = content_security_policy(origin)
    return response


def signed_out_outcome() -> str | None:
    """How the last sign-out in this browser went, if it just happened."""
    value = request.cookies.get(SIGNED_OUT_COOKIE)
    return value if value in ("everywhere", "here") else None


def forget_signed_out(response: Response) -> Response:
    response.delete_cookie(SIGNED_OUT_COOKIE, httponly=True, samesite="Lax")
    return response


def _is_claims_challenge(value: str) -> bool:
    """A JSON object short enough to keep with a pending sign-in, escapes included."""
    if stored_length(value) > sign_in.MAX_CLAIMS_LENGTH:
        return False
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
