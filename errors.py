"""One place that turns every failure into a page in the site's layout.

Sign-in failures, Graph errors, throttling and HTTP errors each get a page
that says what happened and what to do next; "consent needed" and "claims
challenge" become a fresh sign-in instead of an error.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, g, redirect, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError

from auth import AuthError, PersonalAccountNotSupported, SignInRequired, auth, sign_in_redirect
from graph import GraphBusy, GraphClaimsChallenge, GraphError, GraphUnavailable
from permissions import describe_scopes
from session_store import STORE_ERRORS, StoreUnavailable

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(AuthError, _sign_in_failed)
    app.register_error_handler(SignInRequired, sign_in_redirect)
    app.register_error_handler(PersonalAccountNotSupported, _personal_account)
    app.register_error_handler(GraphError, _graph_failed)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(redis.RedisError, _store_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _sign_in_failed(error: AuthError):
    return (
        render_template(
            "sign_in_error.html",
            error=error,
            permissions=describe_scopes(error.scopes),
        ),
        error.status,
    )


def _personal_account(_error: PersonalAccountNotSupported):
    return render_template("personal_account.html"), 403


def _graph_failed(error: GraphError):
    if isinstance(error, GraphBusy):
        page = render_template("graph_busy.html", error=error)
        return page, 503, {"Retry-After": str(error.retry_after)}
    if isinstance(error, GraphUnavailable):
        return render_template("graph_error.html", error=error), 504
    scopes = tuple(getattr(g, "scopes", ()))
    # Graph rejected a token MSAL still trusts (revoked, clock skew): renew it
    # once with the refresh token before asking the user for anything.
    renewable = error.status == 401 and not isinstance(error, GraphClaimsChallenge)
    if renewable and not auth.refreshed_recently() and request.method == "GET":
        try:
            auth.get_token(scopes, force_refresh=True)
        except SignInRequired as again:
            return sign_in_redirect(again)
        return redirect(request.full_path.rstrip("?"))
    # Claims challenges, expired tokens and missing consent are fixed by signing
    # in again, unless the user just did: then show why instead of looping.
    if not auth.signed_in_recently():
        if isinstance(error, GraphClaimsChallenge):
            return sign_in_redirect(SignInRequired(scopes, claims=error.claims, reason="claims"))
        if error.status == 401:
            return sign_in_redirect(SignInRequired(scopes, reason=error.code))
        if error.status == 403 and error.code == "Authorization_RequestDenied":
            return sign_in_redirect(SignInRequired(scopes, reason="consent required by Graph"))
    status = error.status if error.status in (400, 401, 403, 404) else 502
    return render_template("graph_error.html", error=error), status


def _http_error(error: HTTPException):
    if isinstance(getattr(error, "original_exception", None), STORE_ERRORS):
        return _store_unavailable(error.original_exception)
    return render_template("error.html", error=error), error.code or 500


def _store_unavailable(error: Exception):
    # Redis or the session folder failed: opening the session, or saving a pending sign-in.
    log.error("session store unavailable: %s", type(error).__name__)
    return render_template("store_unavailable.html"), 503, {"Retry-After": "30"}


def _untrusted_host(error: SecurityError):
    # No URLs can be built for a host we do not serve, so no site layout either.
    message = "This site does not answer to that host name; use the address it is configured for."
    return message, 400, {"Content-Type": "text/plain; charset=utf-8"}


def _unexpected(error: Exception):
    log.exception("unexpected error")
    return render_template("error.html", error=None), 500
