"""The sign-in routes: /login, the redirect URI and /logout."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for

from . import sign_in, user_session
from .errors import SignInRequired
from .identity import log_safe

log = logging.getLogger(__name__)


def build_blueprint(redirect_path: str) -> Blueprint:
    bp = Blueprint("auth", __name__)

    @bp.route("/login")
    def login():
        """Start signing in with Microsoft."""
        claims = request.args.get("claims")
        return sign_in.start(
            sign_in.safe_next_path(request.args.get("next")),
            extra_scopes=request.args.getlist("scope"),
            claims=claims if claims is not None and _is_json_object(claims) else None,
        )

    @bp.route(redirect_path, methods=["GET", "POST"])
    def callback():
        """The redirect URI: Microsoft sends the user back here after sign-in."""
        response = request.form if request.method == "POST" else request.args
        next_path = sign_in.complete(response.to_dict())
        return redirect(next_path, code=303)

    @bp.route("/logout")
    def logout():
        """Sign out of this app and of the Microsoft account."""
        end_session = sign_in.sign_out_url(url_for("main.index", _external=True))
        user_session.end()
        return redirect(end_session or url_for("main.index"))

    return bp


def sign_in_redirect(error: SignInRequired) -> Response:
    """Send the browser through sign-in (or consent) and back to this page."""
    log.info("asking the user to sign in (%s)", log_safe(error.reason))
    params: dict[str, Any] = {"next": request.full_path.rstrip("?")}
    if error.scopes:
        params["scope"] = list(error.scopes)
    if error.claims:
        params["claims"] = error.claims
    return redirect(url_for("auth.login", **params))


def _is_json_object(value: str) -> bool:
    try:
        return isinstance(json.loads(value), dict)
    except ValueError:
        return False
