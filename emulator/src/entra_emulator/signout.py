"""End session: forget the emulator's browser session and return to the app."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue

from .browser import SESSION_COOKIE
from .state import EmulatorState

# Served on both listeners: on HTTPS too, for apps that build the URL from the authority.
bp = Blueprint("signout", __name__)


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


def _logout_target_allowed(uri: str, client_id: str | None) -> bool:
    """Registered for the client named by client_id, or for any client when none is named."""
    clients = _state().directory.clients
    candidates = [clients[client_id]] if client_id in clients else list(clients.values())
    origin = urlsplit(uri)[:2]
    return any(
        uri in c["post_logout_redirect_uris"]
        or any(urlsplit(r)[:2] == origin for r in c["redirect_uris"])
        for c in candidates
    )


@bp.get("/<tenant>/oauth2/v2.0/logout")
@bp.get("/oidc/logout")
def logout(tenant: str | None = None) -> ResponseReturnValue:
    state = _state()
    state.count("logout")
    sid = request.cookies.get(SESSION_COOKIE, "")
    with state.lock:
        state.browser_sessions.pop(sid, None)
    target = request.args.get("post_logout_redirect_uri", "")
    if target and _logout_target_allowed(target, request.args.get("client_id")):
        if "state" in request.args:
            target += ("&" if "?" in target else "?") + urlencode({"state": request.args["state"]})
        response = redirect(target, 302)
    else:
        response = current_app.make_response(render_template("signed_out.html"))
    response.delete_cookie(SESSION_COOKIE)
    return response
