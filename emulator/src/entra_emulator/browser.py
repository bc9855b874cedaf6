"""Plain-HTTP pages a person's browser visits: authorize, sign-in, consent and sign-out."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue

from .accounts import CONSUMER_SEGMENTS, is_guest, is_personal, refusal
from .consent_policy import Approval, approval_needed, can_consent_for_organization
from .endpoints import ENTRA, OIDC, Authority, authority_for
from .scopes import (
    DESCRIPTIONS,
    GRAPH_RESOURCE,
    ScopeError,
    organization_only,
    parse_scopes,
    personal_account_scope_error,
)
from .state import AUTH_REQUEST_LIFETIME, AuthCode, AuthRequest, EmulatorState
from .tokens import client_info

bp = Blueprint("browser", __name__)
SESSION_COOKIE = "emulator_sid"  # not "session", so an app on 127.0.0.1 keeps its own cookie
RESPONSE_MODES = ("query", "fragment", "form_post")


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


def _browser_session() -> tuple[str, dict]:
    """The emulator's own sign-in session for this browser, created on first visit."""
    state = _state()
    sid = g.get("set_session_cookie") or request.cookies.get(SESSION_COOKIE, "")
    with state.lock:
        if sid not in state.browser_sessions:
            sid = secrets.token_urlsafe(24)
            state.browser_sessions[sid] = {}
            g.set_session_cookie = sid
        return sid, state.browser_sessions[sid]


@bp.after_app_request
def _set_cookie_and_headers(response):
    sid = g.pop("set_session_cookie", None)
    if sid:
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_errorhandler(400)
def _bad_request(error) -> ResponseReturnValue:
    return _error_page("AADSTS90014", error.description)


def _error_page(code: str, message: str, status: int = 400) -> ResponseReturnValue:
    return render_template("error.html", code=code, message=message), status


@bp.get("/<tenant>/oauth2/v2.0/authorize")
def entra_authorize(tenant: str) -> ResponseReturnValue:
    if not _state().directory.is_known_tenant(tenant):
        _state().count("authorize")
        return _error_page("AADSTS90002", f"Tenant '{tenant}' not found.")
    return _authorize(authority_for(_state(), ENTRA, tenant))


@bp.get("/oidc/authorize")
def oidc_authorize() -> ResponseReturnValue:
    return _authorize(authority_for(_state(), OIDC, "oidc"))


def _authorize(authority: Authority) -> ResponseReturnValue:
    state = _state()
    state.count("authorize")
    args = request.args
    client_id = args.get("client_id", "")
    g.client_id = client_id  # for the request log
    redirect_uri = args.get("redirect_uri", "")
    if (refused := unregistered(client_id, redirect_uri)) is not None:
        return refused
    sid, _ = _browser_session()
    response_mode = args.get("response_mode", "query")
    req = AuthRequest(
        id=secrets.token_urlsafe(16),
        authority=authority.kind,
        tenant=authority.tenant,
        client_id=client_id,
        redirect_uri=redirect_uri,
        response_mode=response_mode if response_mode in RESPONSE_MODES else "query",
        state=args.get("state"),
        nonce=args.get("nonce"),
        scopes=parse_scopes(""),
        code_challenge=args.get("code_challenge", ""),
        prompt=args.get("prompt"),
        login_hint=args.get("login_hint"),
        want_client_info=args.get("client_info") == "1",
        browser_sid=sid,
        created=state.clock.now(),
        claims=args.get("claims"),
    )
    if response_mode not in RESPONSE_MODES:
        return _respond(req, _error("invalid_request", "AADSTS900144: Invalid response_mode."))
    if args.get("response_type") != "code":
        return _respond(
            req,
            _error(
                "unsupported_response_type",
                "AADSTS700054: Only response_type 'code' is enabled for the application.",
            ),
        )
    try:
        req.scopes = parse_scopes(args.get("scope", ""))
    except ScopeError as error:
        return _respond(req, _error("invalid_scope", str(error)))
    if req.tenant in CONSUMER_SEGMENTS and organization_only(req.scopes):
        # Only personal accounts sign in here: refused before any page, as Entra does.
        return _respond(req, _personal_scope_error(req))
    if not req.code_challenge or args.get("code_challenge_method") != "S256":
        return _respond(
            req,
            _error(
                "invalid_request",
                "AADSTS9002325: Proof Key for Code Exchange is required, with "
                "code_challenge_method 'S256'.",
            ),
        )
    with state.lock:
        _forget_stale_requests(state)
        state.auth_requests[req.id] = req
    return _advance(req)


def unregistered(client_id: str, redirect_uri: str) -> ResponseReturnValue | None:
    """Entra's error page for an unknown client or redirect URI: nothing goes back to it."""
    directory = _state().directory
    client = directory.find_client(client_id)
    if client is None:
        return _error_page(
            "AADSTS700016",
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{directory.tenant['displayName']}'.",
        )
    if redirect_uri not in client["redirect_uris"]:
        return _error_page(
            "AADSTS50011",
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client_id}'.",
        )
    return None


def _forget_stale_requests(state: EmulatorState) -> None:
    cutoff = state.clock.now() - AUTH_REQUEST_LIFETIME
    for key in [k for k, r in state.auth_requests.items() if r.created < cutoff]:
        del state.auth_requests[key]


def _advance(req: AuthRequest) -> ResponseReturnValue:
    """Show the next page this sign-in needs, or send the code back to the app."""
    state = _state()
    _, session = _browser_session()
    current = session.get("user_id")
    if req.user_id is None:
        hinted = state.directory.find_user(req.login_hint) if req.login_hint else None
        if req.prompt == "none":
            if current is None or (hinted and hinted["id"] != current):
                return _respond(
                    req,
                    _error(
                        "interaction_required",
                        "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
                    ),
                )
            req.user_id = current
        elif (
            req.prompt in ("login", "select_account")
            or current is None
            or hinted
            and hinted["id"] != current
        ):
            return _picker(req, current)
        else:
            req.user_id = current
    user = state.directory.find_user(req.user_id)
    refused = refusal(req.tenant, user, state.directory.tenant["displayName"])
    if refused:
        req.user_id = None
        if req.prompt == "none":
            return _respond(req, _error("login_required", refused))
        return _picker(req, current, refused)
    if is_personal(user) and organization_only(req.scopes):
        return _respond(req, _personal_scope_error(req))
    if req.admin_consent:
        return _admin_consent_step(req, user)
    missing = _scopes_needing_consent(req)
    if missing or (req.prompt == "consent" and not req.consent_shown):
        if req.prompt == "none":
            return _respond(
                req,
                _error(
                    "consent_required",
                    "AADSTS65001: The user or administrator has not consented to use the "
                    "application. Send an interactive authorization request.",
                ),
            )
        approval = approval_for(req, user)
        if approval:
            return approval_page(req, approval)
        return _consent_page(req, missing or _wanted_scopes(req))
    return _respond(req, _code_params(req))


def approval_for(req: AuthRequest, user: dict) -> Approval | None:
    """The "Need admin approval" interrupt this request meets, if any. prompt=consent asks
    for user consent to everything, so admin-only scopes interrupt a non-admin even when an
    admin granted them for the tenant; /adminconsent needs an admin whatever is asked."""
    wanted = req.admin_consent or req.prompt == "consent"
    scopes = _wanted_scopes(req) if wanted else _scopes_needing_consent(req)
    directory = _state().directory
    return approval_needed(directory, user, app_name(req), scopes, req.admin_consent)


def _admin_consent_step(req: AuthRequest, user: dict) -> ResponseReturnValue:
    """/adminconsent: an admin approves for the whole tenant; others need an admin."""
    approval, wanted = approval_for(req, user), _wanted_scopes(req)
    if approval:
        return approval_page(req, approval)
    if not req.consent_shown:
        return _consent_page(req, wanted)
    with _state().lock:
        _state().auth_requests.pop(req.id, None)
    granted = [s if s in req.scopes.oidc else f"{GRAPH_RESOURCE}/{s}" for s in wanted]
    return _respond(req, {"tenant": user["tenant_id"], "scope": " ".join(granted)})


def _personal_scope_error(req: AuthRequest) -> dict:
    raw = request.args.get("scope") or " ".join(req.scopes.all_for_consent())
    return _error("invalid_scope", str(personal_account_scope_error(raw)))


def app_name(req: AuthRequest) -> str:
    return _state().directory.find_client(req.client_id)["displayName"]


def _wanted_scopes(req: AuthRequest) -> list[str]:
    wanted = req.scopes.all_for_consent()
    if req.scopes.default and not req.scopes.graph:
        wanted.append("User.Read")  # ".default" stands for the app's static permission here
    return wanted


def _scopes_needing_consent(req: AuthRequest) -> list[str]:
    consented = _state().consented(req.user_id, req.client_id)
    return [s for s in _wanted_scopes(req) if s not in consented]


def _picker(req: AuthRequest, current: str | None, message: str | None = None):
    directory = _state().directory
    hinted = directory.find_user(req.login_hint) if req.login_hint else None
    return render_template(
        "signin.html",
        req=req,
        users=[(u, _account_kind(u)) for u in directory.accounts],
        current=current,
        preselected=hinted["userPrincipalName"] if hinted else "",
        message=message,
        tenant=directory.tenant["displayName"],
    )


def _account_kind(user: dict) -> str:
    if is_personal(user):
        return "Personal account"
    return "Guest account" if is_guest(user) else "Work or school account"


def _consent_page(req: AuthRequest, scopes: list[str]):
    req.consent_shown = True
    directory = _state().directory
    user = directory.find_user(req.user_id)
    # The admin consent endpoint always grants for the tenant; sign-in offers admins a choice.
    for_organization = "offer" if can_consent_for_organization(directory, user) else None
    return render_template(
        "consent.html",
        req=req,
        app_name=app_name(req),
        user=user,
        scopes=[(s, DESCRIPTIONS.get(s, s)) for s in scopes],
        for_organization="fixed" if req.admin_consent else for_organization,
    )


def approval_page(req: AuthRequest, approval: Approval):
    """Entra's "Need admin approval" page: back to the app, or sign in as an admin."""
    return render_template(
        "approval.html",
        req=req,
        approval=approval,
        app_name=app_name(req),
        user=_state().directory.find_user(req.user_id),
        scopes=[(s, DESCRIPTIONS.get(s, s)) for s in _wanted_scopes(req)],
    )


def _pending_request() -> AuthRequest:
    """The auth request a form belongs to, checked against this browser and its CSRF token."""
    state = _state()
    sid, _ = _browser_session()
    with state.lock:
        req = state.auth_requests.get(request.form.get("req", ""))
    token = request.form.get("csrf", "")
    if req is None or req.browser_sid != sid or not hmac.compare_digest(token, req.csrf):
        abort(
            400,
            "This sign-in page has expired or was opened in another browser. "
            "Go back to the application and sign in again.",
        )
    return req


@bp.post("/_emulator/signin")
def signin() -> ResponseReturnValue:
    req = _pending_request()
    _, session = _browser_session()
    username = request.form.get("username", "").strip()
    user = _state().directory.find_user(username) if username else None
    if user is None:
        return _picker(
            req,
            session.get("user_id"),
            f"AADSTS50034: The user account {username or '(empty)'} does not exist in the "
            f"{_state().directory.tenant['displayName']} directory. To sign into this "
            "application, the account must be added to the directory.",
        )
    refused = refusal(req.tenant, user, _state().directory.tenant["displayName"])
    if refused:
        return _picker(req, session.get("user_id"), refused)
    with _state().lock:
        session["user_id"] = user["id"]
        session.setdefault("sid", secrets.token_urlsafe(12))
    req.user_id = user["id"]
    return _advance(req)


@bp.post("/_emulator/consent")
def consent() -> ResponseReturnValue:
    req = _pending_request()
    if req.user_id is None:
        abort(400, "Sign in before giving consent.")
    if request.form.get("decision") != "accept":
        with _state().lock:
            _state().auth_requests.pop(req.id, None)
        if req.admin_consent:  # the admin consent endpoint's documented error
            return _respond(
                req,
                _error(
                    "consent_required",
                    "AADSTS65004: The resource owner or authorization server denied the request.",
                ),
            )
        return _respond(
            req,
            _error(
                "access_denied",
                "AADSTS65004: User declined to consent to access the app.",
            ),
        )
    state, user = _state(), _state().directory.find_user(req.user_id)
    approval = approval_for(req, user)
    if approval:  # a non-admin cannot consent by posting the form
        return approval_page(req, approval)
    for_organization = req.admin_consent or request.form.get("for_organization") == "1"
    if for_organization:
        if not can_consent_for_organization(state.directory, user):
            abort(400, "Only an administrator can consent on behalf of the organization.")
        state.add_tenant_consent(user["tenant_id"], req.client_id, _wanted_scopes(req))
    else:
        state.add_consent(req.user_id, req.client_id, _wanted_scopes(req))
    return _advance(req)


def _error(error: str, description: str) -> dict:
    return {"error": error, "error_description": description}


def _code_params(req: AuthRequest) -> dict:
    state = _state()
    _, session = _browser_session()
    sid = session.get("sid") or secrets.token_urlsafe(12)
    with state.lock:
        state.auth_requests.pop(req.id, None)
    code = state.new_code(
        AuthCode(
            authority=req.authority,
            client_id=req.client_id,
            redirect_uri=req.redirect_uri,
            user_id=req.user_id,
            scopes=req.scopes,
            nonce=req.nonce,
            code_challenge=req.code_challenge,
            sid=sid,
            issued=state.clock.now(),
            claims=req.claims,
        )
    )
    params = {"code": code}
    if req.want_client_info and req.authority == ENTRA:
        tid = state.directory.find_user(req.user_id)["tenant_id"]
        params["client_info"] = client_info(req.user_id, tid)
    params["session_state"] = sid
    return params


def _respond(req: AuthRequest, params: dict) -> ResponseReturnValue:
    """Send the result back to the app's redirect URI in the requested response mode."""
    if req.admin_consent:
        params = {"admin_consent": "True", **params}
    if req.state is not None:
        params["state"] = req.state
    if req.response_mode == "form_post":
        return render_template("form_post.html", action=req.redirect_uri, fields=params)
    separator = (
        "#" if req.response_mode == "fragment" else ("&" if "?" in req.redirect_uri else "?")
    )
    return redirect(req.redirect_uri + separator + urlencode(params), 302)
