"""Admin consent: the "Need admin approval" page's buttons and the v2 /adminconsent endpoint.

The pages themselves are browser.py's; this module answers what a person does there.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from .accounts import CONSUMER_SEGMENTS
from .browser import (  # the pages' own helpers, shared with their buttons here
    _advance,
    _browser_session,
    _error,
    _error_page,
    _pending_request,
    _respond,
    _state,
    _wanted_scopes,
    app_name,
    approval_for,
    unregistered,
)
from .endpoints import ENTRA, entra_authority
from .scopes import ScopeError, parse_scopes
from .state import AdminConsentRequest, AuthRequest

bp = Blueprint("admin_consent", __name__)
JUSTIFICATION_LIMIT = 1000


@bp.post("/_emulator/approval")
def approval() -> ResponseReturnValue:
    """Back to the app (access_denied, error_subcode=cancel), another account, or a request."""
    req = _pending_request()
    decision = request.form.get("decision")
    state = _state()
    if decision == "switch":  # "Have an admin account? Sign in with that account"
        req.user_id, req.prompt = None, "login"
        return _advance(req)
    user = state.directory.find_user(req.user_id or "")
    approval = approval_for(req, user) if user else None
    if approval is None:  # nothing needs approval any more: carry on signing in
        return _advance(req)
    if decision == "request" and approval.can_request:
        with state.lock:
            state.admin_consent_requests.append(
                AdminConsentRequest(
                    user_id=user["id"],
                    client_id=req.client_id,
                    scopes=_wanted_scopes(req),
                    justification=request.form.get("justification", "")[:JUSTIFICATION_LIMIT],
                    created=state.clock.now(),
                )
            )
        return render_template("approval_requested.html", req=req, app_name=app_name(req))
    with state.lock:
        state.auth_requests.pop(req.id, None)
    return _respond(
        req,
        {
            "error": "access_denied",
            "error_subcode": "cancel",
            "error_description": approval.description,
        },
    )


@bp.get("/<tenant>/v2.0/adminconsent")
def admin_consent(tenant: str) -> ResponseReturnValue:
    """An admin grants the app SCOPE for the whole tenant and returns to REDIRECT_URI."""
    state = _state()
    state.count("authorize")
    directory = state.directory
    if not directory.is_known_tenant(tenant) or tenant.lower() in ("common", *CONSUMER_SEGMENTS):
        # Personal accounts cannot give admin consent (v2-admin-consent: "don't use common").
        return _error_page("AADSTS90002", f"Tenant '{tenant}' not found.")
    args = request.args
    client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
    if (refused := unregistered(client_id, redirect_uri)) is not None:
        return refused
    sid, _ = _browser_session()
    req = AuthRequest(
        id=secrets.token_urlsafe(16),
        authority=ENTRA,
        tenant=entra_authority(state, tenant).tenant,
        client_id=client_id,
        redirect_uri=redirect_uri,
        response_mode="query",
        state=args.get("state"),
        nonce=None,
        scopes=parse_scopes(""),
        code_challenge="",
        prompt="select_account",  # Entra asks which admin account to use
        login_hint=args.get("login_hint"),
        want_client_info=False,
        browser_sid=sid,
        created=state.clock.now(),
        admin_consent=True,
    )
    try:
        req.scopes = parse_scopes(args.get("scope", ""))
    except ScopeError as error:
        return _respond(req, _error("invalid_scope", str(error)))
    with state.lock:
        state.auth_requests[req.id] = req
    return _advance(req)
