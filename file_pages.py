"""Pages about files: your OneDrive, file search, and SharePoint sites."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, g, render_template, request, url_for

from auth import login_required
from views import collection_page, graph, require_id

bp = Blueprint("files", __name__)
ITEM_FIELDS = "id,name,size,lastModifiedDateTime,webUrl,folder,file,parentReference"
PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 20
# The Microsoft Search API pages through at most the first 1000 results.
SEARCH_MAX_FROM = 1000


@bp.route("/files/", defaults={"folder": ""})
@bp.route("/files/<path:folder>")
@login_required(scopes=["Files.Read"])
def my_files(folder: str):
    """The folders and files in your OneDrive."""
    names = [part for part in folder.split("/") if part]
    if any(name in (".", "..") for name in names):
        abort(404)
    # Path-based addressing: the URL mirrors the folder path, so breadcrumbs need no call.
    path = "/me/drive/root/children"
    if names:
        path = "/me/drive/root:/" + "/".join(quote(n, safe="") for n in names) + ":/children"
    page = collection_page(path, {"$top": PAGE_SIZE})
    crumbs = [("My files", url_for("files.my_files"))] + [
        (name, url_for("files.my_files", folder="/".join(names[: i + 1])))
        for i, name in enumerate(names)
    ]
    items = [_item_view(item, names) for item in page.items]
    return render_template("files.html", items=items, crumbs=crumbs, next_link=page.next_link)


@bp.route("/search")
@login_required(scopes=["Files.Read.All"], organizations_only=True)
def search():
    """Search every file you can open, in OneDrive and SharePoint."""
    query = request.args.get("q", "").strip()[:200]
    start = request.args.get("from", "0")
    # isdecimal, not isdigit: int() rejects digits such as "²" that isdigit accepts.
    start = int(start) if start.isdecimal() and int(start) < SEARCH_MAX_FROM else 0
    hits, total, more = [], 0, False
    if query:
        body = {
            "requests": [
                {
                    "entityTypes": ["driveItem"],
                    "query": {"queryString": query},
                    "from": start,
                    "size": SEARCH_PAGE_SIZE,
                }
            ]
        }
        result = graph().post_query(g.access_token, "/search/query", body)
        for answer in result.get("value", []):
            for container in answer.get("hitsContainers", []):
                hits += [hit.get("resource", {}) for hit in container.get("hits", []) or []]
                total = max(total, container.get("total", 0))
                more = more or bool(container.get("moreResultsAvailable"))
    return render_template(
        "search.html",
        query=query,
        hits=[_item_view(hit, None) for hit in hits],
        total=total,
        start=start,
        next_from=start + SEARCH_PAGE_SIZE
        if more and start + SEARCH_PAGE_SIZE < SEARCH_MAX_FROM
        else None,
    )


@bp.route("/sites")
@login_required(scopes=["Sites.Read.All"], organizations_only=True)
def sites():
    """Find SharePoint sites."""
    query = request.args.get("q", "").strip()[:100]
    page = collection_page("/sites", {"search": query or "*", "$top": PAGE_SIZE})
    return render_template("sites.html", sites=page.items, query=query, next_link=page.next_link)


@bp.route("/sites/<site_id>")
@login_required(scopes=["Sites.Read.All"], organizations_only=True)
def site(site_id: str):
    """A SharePoint site's document libraries."""
    require_id(site_id)
    # One call: the site with its libraries expanded.
    found = graph().get(
        g.access_token,
        f"/sites/{site_id}",
        params={"$expand": "drives", "$select": "id,displayName,description,webUrl"},
    )
    libraries = [
        {**drive, "webUrl": safe_link(drive.get("webUrl"))} for drive in found.get("drives", [])
    ]
    return render_template("site.html", site=found, libraries=libraries)


def safe_link(url: object) -> str | None:
    """Only http(s) links from Graph data reach an href; never javascript: and friends."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _item_view(item: dict, parent: list[str] | None) -> dict:
    """What the templates show of a driveItem."""
    is_folder = "folder" in item
    return {
        "name": item.get("name") or "(no name)",
        "is_folder": is_folder,
        "size": item.get("size"),
        "modified": (item.get("lastModifiedDateTime") or "")[:16].replace("T", " "),
        "web_url": safe_link(item.get("webUrl")),
        "download_url": safe_link(item.get("@microsoft.graph.downloadUrl")),
        "open_url": url_for("files.my_files", folder="/".join([*parent, item["name"]]))
        if is_folder and parent is not None and item.get("name")
        else None,
        "child_count": (item.get("folder") or {}).get("childCount"),
    }
