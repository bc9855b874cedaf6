"""One place that turns every failure into a page in the site's layout.

Sign-in failures, Graph errors, throttling and HTTP errors each get a page
that says what happened and what to do next. When Graph refuses a token,
`auth.after_graph_refusal` decides whether to renew it, sign in again or
show the refusal; this module only carries that decision out.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound, SecurityError

import auth
from auth import (
    AccessNotGranted,
    Action,
    AuthError,
    CredentialUnavailable,
    PersonalAccountNotSupported,
    SignInRequired,
)
from graph import (
    GraphAccessDenied,
    GraphBusy,
    GraphClaimsChallenge,
    GraphError,
    GraphUnavailable,
    InvalidCursor,
    InvalidReference,
    Missing,
    NoDrive,
)
from permissions import describe_scopes
from session_store import STORE_ERRORS, StoreUnavailable, log_outage

log = logging.getLogger(__name__)

# What each way a sign-in can fail means for the user: (title, what happened and what to do).
SIGN_IN_FAILURES = {
    "idp_error": ("Sign-in did not complete", "The identity provider returned an error."),
    "declined": ("You declined the permission", "The identity provider returned an error."),
    "admin_approval": (
        "An administrator must approve this permission",
        "An administrator must approve this permission for your organization before "
        "anyone can use this page. Send your administrator the link below, or ask them "
        "to grant admin consent to the app in the Microsoft Entra admin center.",
    ),
    "unavailable_scope": (
        "This page is not available to your account",
        "Microsoft does not offer this permission to your kind of account: a personal "
        "Microsoft account has no organization directory, SharePoint or Microsoft Search. "
        "Sign in with a work or school account to use this page.",
    ),
    "expired": (
        "Your sign-in expired",
        "We have no record of this sign-in. It may have taken longer than {minutes} "
        "minutes, or your browser blocked cookies. Please start again.",
    ),
    "elsewhere": (
        "This sign-in was started elsewhere",
        "The sign-in response did not come back to the browser that started it, "
        "so we did not accept it. Please start again in this browser.",
    ),
    "unverified": (
        "Sign-in could not be verified",
        "The response from the identity provider did not match this sign-in.",
    ),
    "refused": (
        "Sign-in did not complete",
        "The identity provider refused to finish the sign-in.",
    ),
    "no_account": (
        "Sign-in could not be verified",
        "The identity provider's answer named no account.",
    ),
}
# What a 404 from Graph means, by what the page named: (title, what to say, the list to
# go back to, its label). A library's folder leads back to the library.
NOT_FOUND = {
    "folder": (
        "Folder not found",
        "There is no folder at this path in your OneDrive. It may have been moved, "
        "renamed or deleted.",
        "files.my_files",
        "My files",
    ),
    "group": (
        "Group not found",
        "There is no group with this ID that you can see. It may have been deleted.",
        "directory.groups",
        "Your groups",
    ),
    "site": (
        "Site not found",
        "There is no SharePoint site with this ID that you can see. It may have been "
        "deleted, or you may no longer have access to it.",
        "files.sites",
        "Sites",
    ),
    "library": (
        "Library not found",
        "There is no document library with this ID that you can see. It may have been "
        "deleted, or you may no longer have access to it.",
        "files.sites",
        "Sites",
    ),
    "library_folder": (
        "Folder not found",
        "There is no folder at this path in this library. It may have been moved, "
        "renamed or deleted.",
        "files.library",
        "The library",
    ),
    "item": (
        "File not found",
        "This file or folder no longer exists, or you can no longer open it.",
        "files.search",
        "File search",
    ),
}
UNREACHABLE_TITLE = "The sign-in service could not be reached"
UNREACHABLE_DETAILS = {
    "discovery": "We could not read the identity provider's configuration. "
    "Check AUTHORITY / TENANT_ID and your network, then try again.",
    "redeem": "We could not redeem the sign-in with the identity provider. Try again.",
    "refresh": "We could not renew your access to Microsoft Graph. Try again shortly.",
}


def init_app(app: Flask) -> None:
    app.register_error_handler(AuthError, _sign_in_failed)
    app.register_error_handler(SignInRequired, auth.sign_in_redirect)
    app.register_error_handler(PersonalAccountNotSupported, _personal_account)
    app.register_error_handler(AccessNotGranted, _forbidden)
    app.register_error_handler(CredentialUnavailable, _credential_unavailable)
    app.register_error_handler(GraphError, _graph_failed)
    app.register_error_handler(InvalidReference, _not_found)
    app.register_error_handler(Missing, _missing)
    app.register_error_handler(InvalidCursor, _bad_cursor)
    app.register_error_handler(NoDrive, _no_drive)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(redis.RedisError, _store_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _sign_in_failed(error: AuthError):
    if error.reason == "unreachable":
        title = UNREACHABLE_TITLE
        detail = UNREACHABLE_DETAILS.get(error.step, UNREACHABLE_DETAILS["redeem"])
    else:
        title, detail = SIGN_IN_FAILURES[error.reason]
        minutes = auth.current_state().settings.sign_in_timeout // 60
        detail = detail.format(minutes=minutes)
    page = render_template(
        "sign_in_error.html",
        title=title,
        detail=detail,
        error_code=error.error,
        description=error.description,
        permissions=describe_scopes(error.scopes),
        # Asking again cannot help when an administrator or the account type decides.
        retry_url=None
        if error.reason in ("admin_approval", "unavailable_scope")
        else url_for("auth.login", next=error.next_path, scope=list(error.scopes)),
        admin_consent_url=auth.admin_consent_url(error.scopes)
        if error.reason == "admin_approval"
        else None,
    )
    return page, error.status


def _personal_account(_error: PersonalAccountNotSupported):
    return render_template("personal_account.html"), 403


def _forbidden(error: AccessNotGranted):
    # Signing in again cannot add a role or a group: a page to read, never a redirect.
    page = render_template(
        "forbidden.html",
        roles=error.roles,
        groups=error.groups,
        app_id=auth.current_state().settings.client_id,
    )
    return page, 403


def _credential_unavailable(error: CredentialUnavailable):
    description = (
        f"The app could not read its federated token ({error.variable}), so it cannot "
        "prove who it is to Microsoft. The administrator must check the workload identity "
        "setup; the app reads the file again at the next try."
    )
    return _http_error_page(503, "The app cannot sign in to Microsoft", description), 503


def _graph_failed(error: GraphError):
    if isinstance(error, GraphBusy):
        page = render_template(
            "graph_busy.html", retry_after=error.retry_after, request_id=error.request_id
        )
        return page, 503, {"Retry-After": str(error.retry_after)}
    if isinstance(error, GraphUnavailable):
        return _graph_error_page(error), 504
    if error.status in (401, 403):
        claims = error.claims if isinstance(error, GraphClaimsChallenge) else None
        scopes = auth.current_page_scopes(request.endpoint)
        try:
            decision = auth.after_graph_refusal(error.status, claims, scopes, request.method)
        except STORE_ERRORS as outage:
            # Renewing may use the session store; raised from a handler, it would be a traceback.
            return _store_unavailable(outage)
        if decision.action is Action.RETRY:
            return redirect(auth.current_path())
        if decision.action is Action.SIGN_IN:
            return auth.sign_in_redirect(decision.sign_in)
        if decision.action is Action.SHOW_AUTH_ERROR:
            return _sign_in_failed(decision.failure)
        if isinstance(error, GraphAccessDenied):
            return render_template("access_denied.html", request_id=error.request_id), 403
    status = error.status if error.status in (400, 401, 403, 404) else 502
    return _graph_error_page(error), status


def _graph_error_page(error: GraphError) -> str:
    return render_template(
        "graph_error.html",
        message=error.message,
        status=error.status,
        code=error.code,
        request_id=error.request_id,
    )


def _not_found(_error: InvalidReference):
    return _http_error(NotFound())


def _missing(error: Missing):
    title, detail, endpoint, label = NOT_FOUND[error.thing]
    args = {"drive_id": request.view_args["drive_id"]} if error.thing == "library_folder" else {}
    page = render_template(
        "not_found.html",
        title=title,
        detail=detail,
        back_url=url_for(endpoint, **args),
        back_label=label,
        request_id=error.request_id,
    )
    return page, 404


def _no_drive(_error: NoDrive):
    return render_template("no_drive.html"), 404


def _bad_cursor(_error: InvalidCursor):
    description = "That page link is not valid. Go back to the list's first page and try again."
    return _http_error_page(400, "Bad Request", description), 400


def _http_error(error: HTTPException):
    if isinstance(getattr(error, "original_exception", None), STORE_ERRORS):
        return _store_unavailable(error.original_exception)
    code = error.code or 500
    if type(error) is NotFound and error.description == NotFound.description:
        # No route at all (a mistyped address): werkzeug's generic wording says too little.
        description = "There is no page at this address. Check the link, or start from Home."
        return _http_error_page(404, "Page not found", description), 404
    return _http_error_page(code, error.name, error.description), code


def _http_error_page(code: int, name: str, description: str | None) -> str:
    return render_template("error.html", code=code, name=name, description=description)


def _store_unavailable(error: Exception):
    # Redis or the session folder failed: opening the session, or saving a pending sign-in.
    log_outage(error)
    return render_template("store_unavailable.html"), 503, {"Retry-After": "30"}


def _untrusted_host(error: SecurityError):
    # No URLs can be built for a host we do not serve, so no site layout either.
    message = "This site does not answer to that host name; use the address it is configured for."
    return message, 400, {"Content-Type": "text/plain; charset=utf-8"}


def _unexpected(error: Exception):
    log.exception("unexpected error")
    return _http_error_page(500, "Something went wrong", None), 500
