"""The home page, your profile and photos: thin views over `auth` and `graph`."""

from __future__ import annotations

import hashlib

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
from graph import current_client, resources
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


@bp.route("/photo/me")
@login_required()
def my_photo(token: str):
    """Your photo, or a placeholder when you have none."""
    return _photo_response(resources.photo(current_client(), token, "me"))


@bp.route("/photo/<user_id>")
@login_required(scopes=["User.ReadBasic.All"], organizations_only=True)
def photo(user_id: str, token: str):
    """A colleague's photo, or a placeholder when they have none."""
    return _photo_response(resources.photo(current_client(), token, user_id))


def _photo_response(found: Photo | None):
    if found is None:
        response = send_from_directory(current_app.static_folder, "avatar.svg")
    else:
        response = current_app.response_class(found.data, mimetype=found.content_type)
        response.set_etag(hashlib.sha256(found.data).hexdigest())
        response.make_conditional(request)
    # Revalidated on every use (ETag): after sign-out the browser must ask, and we refuse.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
