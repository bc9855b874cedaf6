"""Graph file routes: OneDrive, SharePoint sites and document libraries, and search."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask.typing import ResponseReturnValue

from ..directory import CREATED, Drive, DriveItem, fold
from ..downloads import download_url
from .common import (
    ALL_FILES,
    MY_FILES,
    SITES,
    GraphError,
    context,
    not_found,
    paged,
    require,
    state,
)
from .file_search import search_query


def drive_json(drive: Drive) -> dict:
    return {
        "id": drive.id,
        "name": drive.name,
        "driveType": drive.drive_type,
        "webUrl": state().bases.web_url(drive.web_url),
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


def site_json(site: dict) -> dict:
    return {**site, "webUrl": state().bases.web_url(site["webUrl"])}


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
        "webUrl": state().bases.web_url(item.web_url),
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
    return paged([site_json(s) for s in found], "sites")


def site(site_id: str) -> ResponseReturnValue:
    require(SITES)
    found = state().directory.find_site(site_id)
    if found is None:
        raise not_found("itemNotFound", "Requested site could not be found")
    body = {"@odata.context": context("sites/$entity"), **site_json(found)}
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
