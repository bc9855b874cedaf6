"""Pages about files: your OneDrive, file search, and SharePoint sites."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from auth import login_required
from graph import current_client, resources

bp = Blueprint("files", __name__)


@bp.route("/files/", defaults={"folder": ""})
@bp.route("/files/<path:folder>")
@login_required(scopes=["Files.Read"])
def my_files(folder: str, token: str):
    """The folders and files in your OneDrive."""
    items = resources.drive_children(current_client(), token, folder, request.args.get("cursor"))
    names = [name for name in folder.split("/") if name]
    crumbs = [("My files", url_for("files.my_files"))] + [
        (name, url_for("files.my_files", folder="/".join(names[: i + 1])))
        for i, name in enumerate(names)
    ]
    return render_template("files.html", folder=items, crumbs=crumbs)


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
