"""The home page, your profile and photos: thin views over `auth` and `graph`."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import wraps

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    render_template,
    request,
    send_from_directory,
)

import auth
import display
import session_store
from auth import login_required
from graph import current_client, current_photos, resources
from graph.models import Photo
from navigation import navigation_context

bp = Blueprint("main", __name__)


@bp.app_context_processor
def navigation() -> dict:
    return navigation_context(request.endpoint)


bp.add_app_template_filter(display.file_size)


@bp.route("/")
def index():
    """Home: sign in, or see what you can do."""
    outcome = None if g.user else auth.signed_out_outcome()
    # Where the admin consent link returns: admin_consent=True, or error=... when refused.
    if "error" in request.args:
        admin_consent = "refused"
    else:
        admin_consent = "granted" if request.args.get("admin_consent") == "True" else None
    page = render_template(
        "index.html",
        signed_out=outcome,
        session_expired=session_store.timed_out(),
        admin_consent=admin_consent,
    )
    return auth.forget_signed_out(make_response(page)) if outcome else page


@bp.route("/graphcall")
@login_required()
def graphcall(token: str):
    """Your Microsoft Graph profile."""
    return render_template("profile.html", me=resources.me(current_client(), token))


def _kept_photo_first(view: Callable) -> Callable:
    """Serve a photo kept in memory before login_required gets a token: only to a signed-in
    user the page is open to, whom Graph answered a photo request for within the period."""

    @wraps(view)  # also carries login_required's page requirement to auth.init_app
    def wrapped(**kwargs):
        if g.user is not None and auth.can_open(request.endpoint):
            kept = current_photos().fresh(*_photo_place(kwargs.get("user_id", "me")))
            if kept is not None:
                return _photo_response(kept.photo)
        return view(**kwargs)

    return wrapped


@bp.route("/photo/me")
@_kept_photo_first
@login_required()
def my_photo(token: str):
    """Your photo, or a placeholder when you have none."""
    return _photo_response(_fetch_photo("me", token))


@bp.route("/photo/<user_id>")
@_kept_photo_first
@login_required(scopes=["User.ReadBasic.All"], organizations_only=True)
def photo(user_id: str, token: str):
    """A colleague's photo, or a placeholder when they have none."""
    return _photo_response(_fetch_photo(user_id, token))


def _fetch_photo(user_id: str, token: str) -> Photo | None:
    key, reader = _photo_place(user_id)
    return current_photos().fetch(
        key, reader, lambda etag: resources.photo(current_client(), token, user_id, etag)
    )


def _photo_place(user_id: str) -> tuple[Hashable, Hashable]:
    """Where the signed-in user's view of this photo is kept, and who they are as its reader:
    the tenant first, so two tenants never share an entry; the page's permission too, so
    reading your own photo does not make you a reader of your colleagues'."""
    user = g.user
    tenant = user.tenant_id or ""
    subject = ("me", user.home_account_id) if user_id == "me" else ("user", user_id)
    reader = (tenant, user.home_account_id, auth.current_page_scopes(request.endpoint))
    return (tenant, *subject), reader


def _photo_response(found: Photo | None):
    if found is None:
        response = send_from_directory(current_app.static_folder, "avatar.svg")
    else:
        response = current_app.response_class(found.data, mimetype=found.content_type)
        response.set_etag(found.digest)
        response.make_conditional(request)
    # Revalidated on every use (ETag): after sign-out the browser must ask, and we refuse.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
