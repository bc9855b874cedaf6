"""Pages about files: your OneDrive, file search, and SharePoint sites."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, redirect, render_template, request, url_for

from auth import login_required
from graph import current_client, resources

bp = Blueprint("files", __name__)


@bp.route("/files/", defaults={"folder": ""})
@bp.route("/files/<path:folder>")
@login_required(scopes=["Files.Read"])
def my_files(folder: str, token: str):
    """The folders and files in your OneDrive."""
    items = resources.drive_children(current_client(), token, folder, request.args.get("cursor"))
    crumbs = _crumbs("My files", folder, lambda path: url_for("files.my_files", folder=path))
    return render_template("files.html", folder=items, crumbs=crumbs)


@bp.route("/drives/<drive_id>/", defaults={"folder": ""})
@bp.route("/drives/<drive_id>/<path:folder>")
@login_required(scopes=["Sites.Read.All"], organizations_only=True)
def library(drive_id: str, folder: str, token: str):
    """The folders and files in a SharePoint document library (or a OneDrive you can see)."""
    found = resources.library(current_client(), token, drive_id, folder, request.args.get("cursor"))
    crumbs = _crumbs(
        found.library.name or "Library",
        folder,
        lambda path: url_for("files.library", drive_id=drive_id, folder=path),
    )
    return render_template("library.html", found=found, crumbs=crumbs)


@bp.route("/drive-items/<drive_id>/<item_id>")
@login_required(scopes=["Files.Read.All"], organizations_only=True)
def open_item(drive_id: str, item_id: str, token: str):
    """Open a file or folder that search found: download the file, or browse the folder."""
    target = resources.item_target(current_client(), token, drive_id, item_id)
    if target.folder_path is not None:
        return redirect(url_for("files.library", drive_id=drive_id, folder=target.folder_path))
    # Graph's pre-authenticated download link (valid about an hour), else its own page.
    if target.download_url or target.web_url:
        return redirect(target.download_url or target.web_url)
    abort(404, "Microsoft Graph offers no way to open this item.")


@bp.route("/search")
@login_required(scopes=["Files.Read.All"], organizations_only=True)
def search(token: str):
    """Search every file you can open, in OneDrive and SharePoint."""
    query = request.args.get("q", "").strip()[:200]
    start = request.args.get("from", "0")
    # ASCII digits only (int() also takes "٣"), and short: int() refuses 4,300 digits.
    start = int(start) if start.isascii() and start.isdecimal() and len(start) <= 4 else 0
    results = resources.search_files(current_client(), token, query, start)
    return render_template("search.html", query=query, results=results)


@bp.route("/sites")
@login_required(scopes=["Sites.Read.All"], organizations_only=True)
def sites(token: str):
    """Find SharePoint sites."""
    query = request.args.get("q", "").strip()[:100]
    found = resources.sites(current_client(), token, query, request.args.get("cursor"))
    return render_template("sites.html", sites=found, query=query)


@bp.route("/sites/<site_id>")
@login_required(scopes=["Sites.Read.All"], organizations_only=True)
def site(site_id: str, token: str):
    """A SharePoint site's document libraries."""
    return render_template("site.html", site=resources.site(current_client(), token, site_id))


def _crumbs(top: str, folder: str, url_of: Callable[[str], str]) -> list[tuple[str, str]]:
    """(name, link) for the top of a drive and each folder down to `folder`."""
    names = [name for name in folder.split("/") if name]
    return [(top, url_of(""))] + [
        (name, url_of("/".join(names[: i + 1]))) for i, name in enumerate(names)
    ]
