"""Graph file routes: OneDrive, SharePoint sites and document libraries, and search."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from ..directory import CREATED, Drive, DriveItem, fold
from ..downloads import download_url
from ..parsing import json_int
from .common import (
    ALL_FILES,
    MY_FILES,
    SITES,
    GraphError,
    bad_request,
    context,
    not_found,
    paged,
    require,
    state,
)

MAX_SEARCH_SIZE = 500


def drive_json(drive: Drive) -> dict:
    return {
        "id": drive.id,
        "name": drive.name,
        "driveType": drive.drive_type,
        "webUrl": drive.web_url,
        "createdDateTime": CREATED,
        "lastModifiedDateTime": CREATED,
        "owner": drive.owner,
        "quota": {
            "deleted": 0,
            "remaining": 1099511627776,
            "state": "normal",
            "total": 1099511627776,
            "used": 0,
        },
    }


def item_json(item: DriveItem) -> dict:
    drive = state().directory.drives[item.drive_id]
    parent_ref = {"driveId": drive.id, "driveType": drive.drive_type}
    if drive.site_id:
        parent_ref["siteId"] = drive.site_id
    if item.parent_id:
        parent = state().directory.items[item.parent_id]
        parent_ref.update({"id": parent.id, "path": parent.path})
    body = {
        "id": item.id,
        "name": item.name,
        "size": item.size,
        "webUrl": item.web_url,
        "createdDateTime": CREATED,
        "lastModifiedDateTime": item.modified,
        "parentReference": parent_ref,
    }
    editor = {
        "user": {
            "displayName": drive.owner.get("user", drive.owner.get("group", {})).get("displayName")
        }
    }
    body["createdBy"] = body["lastModifiedBy"] = editor
    if item.parent_id is None:
        body["root"] = {}
    if item.is_folder:
        body["folder"] = {"childCount": len(item.children)}
    else:
        body["file"] = {"mimeType": item.mime_type}
        body["@microsoft.graph.downloadUrl"] = download_url(state(), drive.id, item.id)
    return body


def _my_drive() -> Drive:
    require(MY_FILES)
    drive = state().directory.onedrive_of(g.user["id"])
    if drive is None:  # no OneDrive licence, or a guest: OneDrive's own answer
        raise not_found("ResourceNotFound", "User's mysite not found.")
    return drive


def _drive(drive_id: str) -> Drive:
    drive = state().directory.drives.get(drive_id)
    if drive is None:
        raise not_found("itemNotFound", "The resource could not be found.")
    if drive.user_id == g.user["id"]:
        require(MY_FILES)
    elif drive.user_id:
        # Another person's OneDrive: nothing is shared with the caller in the demo tenant.
        require(ALL_FILES)
        raise GraphError(403, "accessDenied", "Access denied")
    else:
        require(ALL_FILES)
    return drive


def _item(drive: Drive, item_id: str) -> DriveItem:
    item = state().directory.items.get(drive.root_id if item_id == "root" else item_id)
    if item is None or item.drive_id != drive.id:
        raise not_found("itemNotFound", "The resource could not be found.")
    return item


def _children(item: DriveItem) -> dict:
    if not item.is_folder:
        raise not_found("itemNotFound", "The resource could not be found.")
    items = state().directory.items
    return paged([item_json(items[c]) for c in item.children], "Collection(driveItem)")


def _item_by_path(drive: Drive, rest: str) -> tuple[DriveItem, bool]:
    """Path-based addressing, `root:/a/b:` or `root:/a/b:/children`; names match case-blind."""
    wants_children = rest.endswith(":/children")
    path = rest.removesuffix(":/children").removesuffix(":")
    items = state().directory.items
    item = _item(drive, "root")
    for name in (part for part in path.split("/") if part):
        match = next((items[c] for c in item.children if fold(items[c].name) == fold(name)), None)
        if match is None:
            raise not_found("itemNotFound", "The resource could not be found.")
        item = match
    return item, wants_children


def my_drive_path(rest: str) -> ResponseReturnValue:
    item, wants_children = _item_by_path(_my_drive(), rest)
    return _children(item) if wants_children else item_json(item)


def drive_path(drive_id: str, rest: str) -> ResponseReturnValue:
    item, wants_children = _item_by_path(_drive(drive_id), rest)
    return _children(item) if wants_children else item_json(item)


def my_drive() -> ResponseReturnValue:
    return {"@odata.context": context("drives/$entity"), **drive_json(_my_drive())}


def my_drive_root() -> ResponseReturnValue:
    return item_json(_item(_my_drive(), "root"))


def my_drive_root_children() -> ResponseReturnValue:
    return _children(_item(_my_drive(), "root"))


def my_drive_item(item_id: str) -> ResponseReturnValue:
    return item_json(_item(_my_drive(), item_id))


def my_drive_item_children(item_id: str) -> ResponseReturnValue:
    return _children(_item(_my_drive(), item_id))


def drive(drive_id: str) -> ResponseReturnValue:
    return {"@odata.context": context("drives/$entity"), **drive_json(_drive(drive_id))}


def drive_root_children(drive_id: str) -> ResponseReturnValue:
    return _children(_item(_drive(drive_id), "root"))


def drive_item(drive_id: str, item_id: str) -> ResponseReturnValue:
    return item_json(_item(_drive(drive_id), item_id))


def drive_item_children(drive_id: str, item_id: str) -> ResponseReturnValue:
    return _children(_item(_drive(drive_id), item_id))


def sites() -> ResponseReturnValue:
    require(SITES)
    term = request.args.get("search", "*").strip()
    found = state().directory.sites
    if term not in ("", "*"):
        needle = fold(term)
        found = [
            s for s in found if needle in fold(s["displayName"]) or needle in fold(s["description"])
        ]
    return paged(found, "sites")


def site(site_id: str) -> ResponseReturnValue:
    require(SITES)
    found = state().directory.find_site(site_id)
    if found is None:
        raise not_found("itemNotFound", "Requested site could not be found")
    body = {"@odata.context": context("sites/$entity"), **found}
    if request.args.get("$expand") == "drives":
        body["drives"] = [drive_json(d) for d in state().directory.site_drives(found["id"])]
    return body


def site_drives(site_id: str) -> ResponseReturnValue:
    require(SITES)
    found = state().directory.find_site(site_id)
    if found is None:
        raise not_found("itemNotFound", "Requested site could not be found")
    drives = state().directory.site_drives(found["id"])
    return paged([drive_json(d) for d in drives], "drives")


def search_query() -> ResponseReturnValue:
    require(ALL_FILES)
    body = request.get_json(silent=True) or {}
    requests_ = body.get("requests")
    if not isinstance(requests_, list) or not requests_:
        raise bad_request("Requests must contain at least one request.")
    return {"value": [_search_one(r) for r in requests_]}


def _search_one(search: dict) -> dict:
    if search.get("entityTypes") != ["driveItem"]:
        raise bad_request("The emulator searches entityTypes ['driveItem'] only.")
    query = (search.get("query") or {}).get("queryString")
    if not isinstance(query, str) or not query.strip():
        raise bad_request("Query string must be provided.")
    start, size = json_int(search.get("from", 0)), json_int(search.get("size", 25))
    if start is None or size is None:
        raise bad_request("'from' and 'size' must be integers.")
    if start < 0 or not 1 <= size <= MAX_SEARCH_SIZE:
        raise bad_request("'from' must be >= 0 and 'size' between 1 and 500.")
    terms = [t.strip('"*').lower() for t in query.split() if t.strip('"*')]
    directory = state().directory
    drives = [directory.onedrive_of(g.user["id"])]
    drives += [d for d in directory.drives.values() if d.site_id]
    matches = [
        item
        for item in directory.items.values()
        if item.parent_id
        and directory.drives[item.drive_id] in drives
        and all(fold(t) in fold(item.name) for t in terms)
    ]
    matches.sort(key=lambda i: i.modified, reverse=True)
    hits = [
        {
            "hitId": item.id,
            "rank": start + n + 1,
            "summary": _summary(item.name, terms),
            "resource": _search_resource(item),
        }
        for n, item in enumerate(matches[start : start + size])
    ]
    return {
        "searchTerms": terms,
        "hitsContainers": [
            {
                "hits": hits,
                "total": len(matches),
                "moreResultsAvailable": start + size < len(matches),
            }
        ],
    }


def _summary(name: str, terms: list[str]) -> str:
    """Search highlights matches with <c0> tags, as Microsoft Search does."""
    for term in terms:
        at = name.lower().find(term)
        if at >= 0:
            return f"{name[:at]}<c0>{name[at : at + len(term)]}</c0>{name[at + len(term) :]}"
    return name


def _personal_site(drive: Drive) -> str:
    """A OneDrive is a personal site in SharePoint; search reports that site's id."""
    host = urlsplit(drive.web_url).hostname
    site_guid = uuid.uuid5(uuid.NAMESPACE_URL, drive.web_url)
    web_guid = uuid.uuid5(uuid.NAMESPACE_URL, drive.id)
    return f"{host},{site_guid},{web_guid}"


def _search_resource(item: DriveItem) -> dict:
    drive = state().directory.drives[item.drive_id]
    resource = {
        "@odata.type": "#microsoft.graph.driveItem",
        "id": item.id,
        "name": item.name,
        "webUrl": item.web_url,
        "size": item.size,
        "lastModifiedDateTime": item.modified,
        "parentReference": {"driveId": drive.id, "siteId": drive.site_id or _personal_site(drive)},
    }
    if not item.is_folder:
        resource["file"] = {"mimeType": item.mime_type}
    return resource


def install(bp: Blueprint) -> None:
    get_routes = [
        ("/me/drive", my_drive),
        ("/me/drive/root", my_drive_root),
        ("/me/drive/root/children", my_drive_root_children),
        ("/me/drive/root:/<path:rest>", my_drive_path),
        ("/drives/<drive_id>/root:/<path:rest>", drive_path),
        ("/me/drive/items/<item_id>", my_drive_item),
        ("/me/drive/items/<item_id>/children", my_drive_item_children),
        ("/drives/<drive_id>", drive),
        ("/drives/<drive_id>/root/children", drive_root_children),
        ("/drives/<drive_id>/items/<item_id>", drive_item),
        ("/drives/<drive_id>/items/<item_id>/children", drive_item_children),
        ("/sites", sites),
        ("/sites/<site_id>", site),
        ("/sites/<site_id>/drives", site_drives),
    ]
    for rule, view in get_routes:
        bp.add_url_rule(rule, view.__name__, view, methods=["GET"])
    bp.add_url_rule("/search/query", "search_query", search_query, methods=["POST"])
