"""Pages: thin views that get a token from `auth` and data from `graph`."""

from __future__ import annotations

import hashlib
import re

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    render_template,
    request,
    send_from_directory,
)

from auth import login_required
from graph import GraphClient, Page

bp = Blueprint("main", __name__)
PROFILE_FIELDS = (
    ("displayName", "Name"),
    ("jobTitle", "Job title"),
    ("department", "Department"),
    ("mail", "Email"),
    ("userPrincipalName", "User principal name"),
    ("businessPhones", "Business phones"),
    ("mobilePhone", "Mobile phone"),
    ("officeLocation", "Office"),
    ("preferredLanguage", "Preferred language"),
    ("id", "Object ID"),
)
PHOTO_MAX_AGE = 3600
# Graph ids of users, groups, sites, drives and items: no slashes, dots or queries.
_GRAPH_ID = re.compile(r"^(?!\.+$)[A-Za-z0-9!,._\-]{1,300}$")


def graph() -> GraphClient:
    return current_app.extensions["graph"]


def require_id(value: str) -> str:
    """A Graph id from the URL, or 404: it goes into a Graph path, so no traversal."""
    if not _GRAPH_ID.match(value):
        abort(404)
    return value


def collection_page(path: str, params: dict | None = None, headers: dict | None = None) -> Page:
    """One page of a Graph collection: the first, or the one a "more" link points at."""
    more = request.args.get("page")
    try:
        if more:
            # Graph's next links are absolute; GraphClient checks they stay on its endpoint.
            if not more.startswith(("https://", "http://")):
                raise ValueError("not a next link")
            return graph().page(g.access_token, more, headers=headers)
        return graph().page(g.access_token, path, params=params, headers=headers)
    except ValueError:
        abort(400, "That \u201cmore\u201d link is not valid. Go back and try again.")


@bp.route("/")
def index():
    """Home: sign in, or see what you can do."""
    return render_template("index.html")


@bp.route("/graphcall")
@login_required()
def graphcall():
    """Your Microsoft Graph profile."""
    me = graph().get(g.access_token, "/me")
    fields = [(label, me.get(key)) for key, label in PROFILE_FIELDS if me.get(key)]
    return render_template("profile.html", me=me, fields=fields)


@bp.route("/photo/<user_id>")
@login_required()
def photo(user_id: str):
    """A person's photo, or a placeholder when they have none."""
    require_id(user_id)
    path = "/me/photo/$value" if user_id == "me" else f"/users/{user_id}/photo/$value"
    found = graph().get_bytes(g.access_token, path)
    # Serve only images from our origin, whatever Graph's Content-Type says.
    if found is None or not found[1].startswith("image/") or "svg" in found[1]:
        return send_placeholder()
    data, content_type = found
    response = current_app.response_class(data, mimetype=content_type)
    response.headers["Cache-Control"] = f"private, max-age={PHOTO_MAX_AGE}"
    response.set_etag(hashlib.sha256(data).hexdigest())
    return response.make_conditional(request)


def send_placeholder():
    response = send_from_directory(current_app.static_folder, "avatar.svg")
    response.headers["Cache-Control"] = f"private, max-age={PHOTO_MAX_AGE}"
    return response


# The pages the navigation offers to a signed-in user, in order.
NAV_LINKS = (
    ("main.graphcall", "Profile"),
    ("directory.people", "People"),
    ("directory.groups", "Groups"),
    ("directory.organization", "Directory"),
    ("files.my_files", "My files"),
    ("files.search", "File search"),
    ("files.sites", "Sites"),
)


@bp.app_context_processor
def navigation() -> dict:
    return {"nav_links": NAV_LINKS}
