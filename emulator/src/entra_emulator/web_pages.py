"""The pages behind Graph's webUrls on the plain-HTTP listener; its 404 page and favicon.

A stand-in for SharePoint and OneDrive in a browser: what the real page would show about a
site, library, OneDrive, folder or file (name, kind, owner, size, modified, where it is),
never the document itself, and with no sign-in of its own.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from .images import favicon_ico
from .state import EmulatorState
from .web_index import WebPage, build_index, page_key

bp = Blueprint("web_pages", __name__)


def _state() -> EmulatorState:
    return current_app.extensions["emulator"]


# SharePoint's paths (/sites/..., /personal/...) and personal OneDrive's (/?cid=, /redir).
@bp.get("/")
@bp.get("/redir")
@bp.get("/sites/<path:rest>")
@bp.get("/personal/<path:rest>")
def web_page(rest: str = "") -> ResponseReturnValue:
    """The page a webUrl leads to, or 404."""
    bases = _state().bases
    index = _index(_state())
    served_at = f"{request.scheme}://{request.host}"
    query = request.query_string.decode("latin-1")
    page = next(
        (
            index[key]
            for real in bases.real_origins(served_at)
            if (key := page_key(real, request.path, query)) in index
        ),
        None,
    )
    if page is None:
        abort(404)
    return render_template("web_page.html", page=page)


def _index(state: EmulatorState) -> dict[str, WebPage]:
    """Built once per directory (reset() loads a new one), again when add_user() grows it."""
    directory, size = state.directory, len(state.directory.items)
    with state.lock:
        built_for, built_size, index = current_app.extensions.get("web_pages", (None, 0, {}))
        if built_for is not directory or built_size != size:
            index = build_index(directory, state.bases.web_url)
            current_app.extensions["web_pages"] = (directory, size, index)
        return index


@bp.app_errorhandler(404)
def not_found(error) -> ResponseReturnValue:
    return render_template("not_found.html"), 404


@bp.get("/favicon.ico")
def favicon() -> Response:
    icon = favicon_ico()
    return Response(
        icon, mimetype="image/vnd.microsoft.icon", headers={"Cache-Control": "max-age=86400"}
    )
