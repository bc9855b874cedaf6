"""Admin consent: the "Need admin approval" page's buttons and the v2 /adminconsent endpoint.

The pages themselves are browser.py's; this module answers what a person does there.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from .browser import (
    advance,
    app_name,
    approval_for,
    browser_session,
    emulator_state,
    error_page,
    error_params,
    pending_request,
    respond,
    wanted_scopes,
)
from .endpoints import ENTRA, entra_authority
from .scopes import ScopeError, parse_scopes
from .state import AdminConsentRequest, AuthRequest

bp = Blueprint("admin_consent", __name__)
JUSTIFICATION_LIMIT = 1000


@bp.post("/_emulator/approval")
def approval() -> ResponseReturnValue:
    """Back to the app (access_denied, error_subcode=cancel), another account, or a request."""
    req = pending_request()
    decision = request.form.get("decision")
    state = emulator_state()
    if decision == "switch":  # "Have an admin account? Sign in with that account"
        req.user_id, req.prompt = None, "login"
        return advance(req)
    user = state.directory.find_user(req.user_id or "")
    approval = approval_for(req, user) if user else None
    if approval is None:  # nothing needs approval any more: carry on signing in
        return advance(req)
    if decision == "request" and approval.can_request:
        with state.lock:
            state.admin_consent_requests.append(
                AdminConsentRequest(
                    user_id=user["id"],
                    client_id=req.client_id,
                    scopes=wanted_scopes(req),
                    justification=request.form.get("justification", "")[:JUSTIFICATION_LIMIT],
                    created=state.clock.now(),
                )
            )
        return render_template("approval_requested.html", req=req, app_name=app_name(req))
    with state.lock:
        state.auth_requests.pop(req.id, None)
    return respond(
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
    state = emulator_state()
    state.count("authorize")
    directory = state.directory
    if not directory.is_known_tenant(tenant) or tenant.lower() in ("consumers", "common"):
        # Personal accounts cannot give admin consent (v2-admin-consent: "don't use common").
        return error_page("AADSTS90002", f"Tenant '{tenant}' not found.")
    args = request.args
    client = directory.find_client(args.get("client_id", ""))
    if client is None:
        return error_page(
            "AADSTS700016",
            f"Application with identifier '{args.get('client_id', '')}' was not found in the "
            f"directory '{directory.tenant['displayName']}'.",
        )
    redirect_uri = args.get("redirect_uri", "")
    if redirect_uri not in client["redirect_uris"]:
        return error_page(
            "AADSTS50011",
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client['client_id']}'.",
        )
    sid, _ = browser_session()
    req = AuthRequest(
        id=secrets.token_urlsafe(16),
        authority=ENTRA,
        tenant=entra_authority(state, tenant).tenant,
        client_id=client["client_id"],
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
        return respond(req, error_params("invalid_scope", str(error)))
    with state.lock:
        state.auth_requests[req.id] = req
    return advance(req)
