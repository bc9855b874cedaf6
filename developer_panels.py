"""For developers: a "How this page works" panel on Graph pages, and a Token claims page.

Both exist only with DEVELOPER_PANELS=true (the demo sets it). Off, nothing here is
registered: no panel, /token-claims is a 404, and the Graph client records nothing (its
one check finds no recording under way). On, each request records the Graph calls it
sends (`graph.client.recording_calls`) and pages that use Graph list them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from flask import Blueprint, Flask, g, render_template, request

import auth
from app_config import Settings
from graph.client import BatchedCall, GraphCall, recording_calls

bp = Blueprint("developer", __name__)

GRAPH_API_DOCS = "https://learn.microsoft.com/graph/api/{}?view=graph-rest-1.0"
BATCH_DOCS = ("https://learn.microsoft.com/graph/json-batching", "JSON batching")
_IDENTITY_PLATFORM_DOCS = "https://learn.microsoft.com/entra/identity-platform/"
CLAIMS_REFERENCE = _IDENTITY_PLATFORM_DOCS + "id-token-claims-reference"
OPTIONAL_CLAIMS_REFERENCE = _IDENTITY_PLATFORM_DOCS + "optional-claims-reference"

_ID = r"[^/]+"
_OWNER = rf"/me|/users/{_ID}|/groups/{_ID}|/sites/{_ID}"
# Graph paths (relative to the endpoint, query left out) -> (documentation page, its title).
# First match wins.
GRAPH_API_PAGES = tuple(
    (re.compile(pattern), page, title)
    for pattern, page, title in (
        (rf"(/me|/users/{_ID})/photo(/\$value)?", "profilephoto-get", "Get profilePhoto"),
        (
            rf"(/me|/users/{_ID})/memberOf(/microsoft\.graph\.\w+)?",
            "user-list-memberof",
            "List a user's direct memberships",
        ),
        (rf"/me|/users/{_ID}", "user-get", "Get user"),
        (r"/users", "user-list", "List users"),
        (
            rf"/groups/{_ID}/members(/microsoft\.graph\.\w+)?",
            "group-list-members",
            "List group members",
        ),
        (rf"/groups/{_ID}", "group-get", "Get group"),
        (r"/organization", "organization-list", "List organizations"),
        (rf"/organization/{_ID}", "organization-get", "Get organization"),
        (r"/directoryRoles", "directoryrole-list", "List directoryRoles"),
        (
            rf"({_OWNER})/drive/(root|items/{_ID})(:/.*:)?/children"
            rf"|/drives/{_ID}/(root|items/{_ID})(:/.*:)?/children",
            "driveitem-list-children",
            "List children of a driveItem",
        ),
        (rf"({_OWNER})/drives", "drive-list", "List drives"),
        (rf"/drives/{_ID}", "drive-get", "Get Drive"),
        (r"/search/query", "search-query", "Search query (Microsoft Search API)"),
        (r"/sites", "site-search", "Search for sites"),
        (rf"/sites/{_ID}", "site-get", "Get a site resource"),
    )
)

# What the common ID token claims mean, in a line each (see CLAIMS_REFERENCE).
CLAIM_MEANINGS = {
    "aud": "Audience: who the token is for, this app's Application (client) ID. "
    "Checked at sign-in.",
    "iss": "Issuer: the identity provider and the tenant that authenticated you "
    "(v2.0 issuers end in /v2.0). Checked at sign-in.",
    "iat": "Issued at: when the token was issued.",
    "nbf": "Not before: the token is not valid before this time.",
    "exp": "Expires: the token is not valid from this time on. Checked at sign-in; "
    "your session here has its own lifetime.",
    "auth_time": "When you last authenticated.",
    "name": "Your display name: for showing only, it is not unique and can change.",
    "preferred_username": "Your primary username, often your email address. It can "
    "change, so it never decides what you may do.",
    "email": "An email address, when one is known. It can change and is not verified "
    "for every account.",
    "oid": "Your object ID in this tenant: the same for every app, and Graph's id of your user.",
    "sub": "Subject: an ID of you for this app only; another app gets another value.",
    "tid": "The tenant you signed in to; 9188040d-6c67-4c5b-b112-36a304b66dad is "
    "personal Microsoft accounts.",
    "ver": "The token's version: 1.0 or 2.0.",
    "nonce": "Matches the nonce this app's sign-in request carried; a token with "
    "another one is refused (no replayed tokens).",
    "login_hint": "An opaque hint naming your account (an optional claim). The app "
    "passes it at sign-out, so no account picker is shown.",
    "sid": "Your session at the identity provider.",
    "uti": "This token's unique identifier.",
    "rh": "An internal claim Microsoft uses to revalidate tokens; ignore it.",
    "aio": "An internal claim Microsoft uses for token reuse; ignore it.",
    "idp": "The identity provider that authenticated you, when it is not the issuer "
    "(a guest's home tenant, or live.com).",
    "roles": "The app roles you were assigned in this app's registration.",
    "groups": "The IDs of groups you belong to, when the app registration asks for "
    "the groups claim.",
    "hasgroups": "You belong to more groups than fit in a token: ask Graph for them.",
    "_claim_names": "Claims left out of the token because they are too large (groups "
    "overage: more than 200 groups); this app asks Microsoft Graph for them instead.",
    "_claim_sources": "Where the left-out claims can be read: a legacy Azure AD Graph URL "
    "that apps should not call; use Microsoft Graph's transitiveMemberOf.",
    "wids": "The IDs of the tenant-wide Microsoft Entra roles you hold.",
    "amr": "How you authenticated (password, multi-factor, ...).",
    "acr": "The authentication context class (used by older B2C policies).",
    "upn": "Your user principal name.",
    "unique_name": "A name for showing only (v1.0 tokens).",
    "c_hash": "A hash of the authorization code.",
    "at_hash": "A hash of the access token issued with this token.",
    "ctry": "Your country or region (an optional claim).",
    "tenant_ctry": "Your tenant's country or region (an optional claim).",
    "xms_pl": "Your preferred language (an optional claim).",
    "xms_tpl": "Your tenant's preferred language (an optional claim).",
}
XMS_MEANING = (
    "A Microsoft extension claim (xms_), usually an optional claim the app registration asks for."
)
TIME_CLAIMS = frozenset({"iat", "nbf", "exp", "auth_time"})


@dataclass(frozen=True)
class BatchedRow:
    """A request inside a $batch, as the panel shows it under the batch."""

    call: BatchedCall
    docs_url: str | None = None
    docs_title: str | None = None


@dataclass(frozen=True)
class CallRow:
    """A Graph call as the panel shows it."""

    call: GraphCall
    docs_url: str | None = None
    docs_title: str | None = None
    batched: tuple[BatchedRow, ...] = ()

    @property
    def retried_after(self) -> str:
        """What each retried attempt answered: "429, 503"."""
        return ", ".join(str(s) if s else "no answer" for s in self.call.retried)


@dataclass(frozen=True)
class Panel:
    calls: list[CallRow]
    # What the page's access token was acquired for.
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ClaimRow:
    name: str
    value: str
    # A claim this page does not know has no meaning: "—".
    meaning: str | None
    # For times: the value as a UTC date and time.
    utc: str | None = None


def init_app(app: Flask, settings: Settings) -> None:
    if not settings.developer_panels:
        return  # nothing registered: no panel, no claims page, nothing recorded
    app.register_blueprint(bp)
    app.before_request(_start_recording)
    app.teardown_request(_stop_recording)
    app.context_processor(_panel_context)


@bp.route("/token-claims")
def token_claims():
    """The claims of your ID token: what the identity provider told this app about you."""
    if g.user is None:
        raise auth.SignInRequired(reason="not signed in")
    claims = [_claim_row(name, value) for name, value in auth.id_token_claims().items()]
    return render_template(
        "token_claims.html",
        claims=claims,
        reference_url=CLAIMS_REFERENCE,
        optional_claims_url=OPTIONAL_CLAIMS_REFERENCE,
    )


def graph_docs(path: str) -> tuple[str, str] | None:
    """The documentation page (URL, title) of the Graph call to `path`, if known."""
    bare = path.split("?", 1)[0]
    if bare == "/$batch":
        return BATCH_DOCS
    for pattern, page, title in GRAPH_API_PAGES:
        if pattern.fullmatch(bare):
            return GRAPH_API_DOCS.format(page), title
    return None


def _start_recording() -> None:
    g.graph_recording = recording_calls()
    g.graph_calls = g.graph_recording.__enter__()


def _stop_recording(_error: BaseException | None) -> None:
    recording = g.pop("graph_recording", None)
    if recording is not None:
        recording.__exit__(None, None, None)


def _panel_context() -> dict:
    return {"developer_panels": True, "developer_panel": _panel()}


def _panel() -> Panel | None:
    """The panel of a page that used Graph, or that is guarded by login_required."""
    calls = g.get("graph_calls")
    if calls is None or (not calls and request.endpoint not in auth.current_state().pages):
        return None
    rows = [
        CallRow(
            call,
            *(graph_docs(call.path) or ()),
            batched=tuple(BatchedRow(b, *(graph_docs(b.path) or ())) for b in call.batched),
        )
        for call in calls
    ]
    return Panel(calls=rows, scopes=auth.current_page_scopes(request.endpoint))


def _claim_row(name: str, value: object) -> ClaimRow:
    meaning = CLAIM_MEANINGS.get(name) or (XMS_MEANING if name.startswith("xms_") else None)
    if isinstance(value, str):
        shown = value
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        shown = ", ".join(value)
    else:
        shown = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    utc = _utc(value) if name in TIME_CLAIMS else None
    return ClaimRow(name=name, value=shown, meaning=meaning, utc=utc)


def _utc(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
