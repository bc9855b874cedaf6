"""What each page asks Microsoft Graph for, and what it makes of the answer.

One function per thing a page shows. Each takes the client and the user's token, owns
the paths, OData options, headers, request bodies and JSON field names it needs, checks
the ids and links that come from a URL or from Graph, and returns view models.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TypeVar
from urllib.parse import quote, unquote, urlsplit

from .client import GetRequest, GraphAccessDenied, GraphClient, GraphNotFound, Page
from .models import (
    DirectoryRole,
    Domain,
    DriveItem,
    FileSearchResults,
    Group,
    GroupMembers,
    ItemLocation,
    ItemTarget,
    Library,
    LibraryFolder,
    Organization,
    Person,
    Photo,
    Profile,
    ResultPage,
    Site,
    SiteLibraries,
)
from .paging import BadPosition, Position
from .photo_cache import PhotoAnswer

T = TypeVar("T")

# Other people's basic profile: all that User.ReadBasic.All lets Graph return.
PERSON_SELECT = "id,displayName,givenName,surname,mail,userPrincipalName"
PEOPLE_PAGE_SIZE = 10
FILES_PAGE_SIZE = 25
SEARCH_PAGE_SIZE = 20
# The Microsoft Search API pages through at most the first 1000 results.
SEARCH_MAX_FROM = 1000
MAX_QUERY_LENGTH = 100
# Graph ids of users, groups, sites, drives and items: no slashes, dots or queries.
_GRAPH_ID = re.compile(r"^(?!\.+$)[A-Za-z0-9!,._\-]{1,300}$")
# Quotes and backslashes would end a $search clause early.
_SEARCH_UNSAFE = re.compile(r'["\\]')
# Only raster images are served from our origin: SVG and HTML could run script there.
_RASTER_IMAGE = re.compile(r"^image/(jpeg|png|gif|webp|bmp)$")


class InvalidReference(ValueError):
    """An id or folder path from the URL that cannot name a Graph resource (a 404)."""


class InvalidCursor(ValueError):
    """A page link's cursor that this app did not make (a 400)."""


class Missing(LookupError):
    """What the URL names does not exist, or this user cannot see it (a 404 page).

    `thing` says what: "folder" (in My files), "group", "site", "library",
    "library_folder" or "item".
    """

    def __init__(self, thing: str, request_id: str | None = None) -> None:
        super().__init__(thing)
        self.thing = thing
        self.request_id = request_id


class NoDrive(Exception):
    """The user has no OneDrive (no OneDrive or SharePoint licence, or never provisioned)."""


# -- you ------------------------------------------------------------------------------


PROFILE_SELECT = (
    "id,displayName,jobTitle,department,mail,userPrincipalName,businessPhones,"
    "mobilePhone,officeLocation,preferredLanguage"
)


def me(client: GraphClient, token: str) -> Profile:
    # department is not among /me's default properties: ask for what the page shows.
    body = client.get(token, "/me", params={"$select": PROFILE_SELECT})
    return Profile(
        id=str(body.get("id") or ""),
        display_name=body.get("displayName"),
        job_title=body.get("jobTitle"),
        department=body.get("department"),
        mail=body.get("mail"),
        user_principal_name=body.get("userPrincipalName"),
        business_phones=tuple(body.get("businessPhones") or ()),
        mobile_phone=body.get("mobilePhone"),
        office_location=body.get("officeLocation"),
        preferred_language=body.get("preferredLanguage"),
    )


def photo(client: GraphClient, token: str, user_id: str, etag: str | None = None) -> PhotoAnswer:
    """The user's photo ("me" for the signed-in user); its `photo` is None when there is
    none to show. With `etag`, the ETag of a copy kept, Graph may say it is still current."""
    path = "/me/photo/$value" if user_id == "me" else f"/users/{_graph_id(user_id)}/photo/$value"
    try:
        found = client.get_bytes(token, path, etag=etag)
    except GraphAccessDenied:
        # A photo this user may not see is no photo, not an error page; and an answer
        # about this user, not about the photo, so it is not kept for anyone.
        return PhotoAnswer(None, about_photo=False)

    if found is None:
        return PhotoAnswer(None)  # 404: this person has no photo
    if found.not_modified:
        return PhotoAnswer(None, found.etag, not_modified=True)
    content_type = found.content_type.split(";", 1)[0].strip().lower()
    if not _RASTER_IMAGE.match(content_type):
        return PhotoAnswer(None, found.etag)
    return PhotoAnswer(Photo(data=found.data, content_type=content_type), found.etag)


# -- your organization ----------------------------------------------------------------


def people(
    client: GraphClient, token: str, query: str = "", cursor: str | None = None
) -> ResultPage[Person]:
    """People in the directory, optionally those whose name or mail matches `query`."""
    headers = None
    params: dict = {"$select": PERSON_SELECT, "$top": PEOPLE_PAGE_SIZE}
    term = _SEARCH_UNSAFE.sub(" ", query.strip()[:MAX_QUERY_LENGTH]).strip()
    if term:
        params["$search"] = f'"displayName:{term}" OR "mail:{term}"'
        # Graph's $search on directory objects needs eventual consistency.
        headers = {"ConsistencyLevel": "eventual"}
    page, position = _page(client, token, "/users", params, cursor, headers)
    return _result([_person(item) for item in page.items], page, position)


def my_groups(client: GraphClient, token: str, cursor: str | None = None) -> ResultPage[Group]:
    page, position = _page(
        client,
        token,
        "/me/memberOf/microsoft.graph.group",
        {"$select": "id,displayName,description,mail,groupTypes", "$top": PEOPLE_PAGE_SIZE},
        cursor,
    )
    groups = [
        Group(str(item["id"]), item.get("displayName"), item.get("description"))
        for item in page.items
        if item.get("id")
    ]
    return _result(groups, page, position)


def group(
    client: GraphClient, token: str, group_id: str, cursor: str | None = None
) -> GroupMembers:
    """A group's name and one page of its members."""
    path = f"/groups/{_graph_id(group_id)}"
    # One batch of two: Graph returns a group's pageable member list only from /members,
    # and $expand=members stops at 20 members without a next link. Later pages ask for the
    # name again (rather than carry it in the cursor): it stays current, a deleted group is
    # a 404 on every page, and the cursor keeps its room for Previous.
    members, position = _page_request(
        client, f"{path}/members", {"$select": PERSON_SELECT, "$top": PEOPLE_PAGE_SIZE}, cursor
    )
    answers = client.batch(
        token, {"group": GetRequest(path, {"$select": "displayName"}), "members": members}
    )
    try:
        found = answers.json("group")
        page = answers.page("members")
    except GraphNotFound as missing:
        raise Missing("group", missing.request_id) from None
    members_page = _result([_person(item) for item in page.items], page, position)
    return GroupMembers(display_name=found.get("displayName"), members=members_page)


def organization(client: GraphClient, token: str) -> Organization:
    """The user's organization and the directory roles they hold."""
    # One batch of two: the organization and the user's roles are separate Graph resources.
    answers = client.batch(
        token,
        {
            "organization": client.page_request("/organization", params={"$top": None}),
            "roles": client.page_request(
                "/me/memberOf/microsoft.graph.directoryRole",
                params={"$select": "id,displayName,description", "$top": None},
            ),
        },
    )
    orgs, roles = answers.page("organization"), answers.page("roles")
    org = orgs.items[0] if orgs.items else {}
    domains = [
        Domain(name=str(d["name"]), is_default=bool(d.get("isDefault")))
        for d in org.get("verifiedDomains") or []
        if isinstance(d, dict) and d.get("name")
    ]
    return Organization(
        display_name=org.get("displayName"),
        verified_domains=domains,
        roles=[DirectoryRole(r.get("displayName"), r.get("description")) for r in roles.items],
    )


# -- files ----------------------------------------------------------------------------


def drive_children(
    client: GraphClient, token: str, folder_path: str = "", cursor: str | None = None
) -> ResultPage[DriveItem]:
    """The items in a folder of the user's OneDrive ("" is the root, "a/b" a subfolder)."""
    names = _folder_names(folder_path)
    path = _children_path("/me/drive", names)
    try:
        page, position = _page(client, token, path, {"$top": FILES_PAGE_SIZE}, cursor)
    except GraphNotFound as missing:
        # Graph's answer when the user has no OneDrive: 404 "User's mysite not found".
        if missing.code == "ResourceNotFound" and "mysite" in missing.message.lower():
            raise NoDrive() from None
        raise Missing("folder", missing.request_id) from None
    return _result([_drive_item(item, names) for item in page.items], page, position)


def library(
    client: GraphClient, token: str, drive_id: str, folder_path: str = "", cursor: str | None = None
) -> LibraryFolder:
    """A document library (or a OneDrive) and one page of a folder in it ("" is its root)."""
    base = f"/drives/{_graph_id(drive_id)}"
    names = _folder_names(folder_path)
    # One batch of two: a folder's items do not carry the name of the library they are in.
    children, position = _page_request(
        client, _children_path(base, names), {"$top": FILES_PAGE_SIZE}, cursor
    )
    drive = GetRequest(base, {"$select": "id,name,description,webUrl,owner"})
    answers = client.batch(token, {"library": drive, "children": children})
    try:
        found = answers.json("library")
    except GraphNotFound as missing:
        raise Missing("library", missing.request_id) from None
    try:
        page = answers.page("children")
    except GraphNotFound as missing:
        raise Missing("library_folder", missing.request_id) from None
    items = [_drive_item(item, names, drive_id=drive_id) for item in page.items]
    return LibraryFolder(_library(found), _result(items, page, position))


def item_target(client: GraphClient, token: str, drive_id: str, item_id: str) -> ItemTarget:
    """Where opening a drive item (a search hit) leads: its folder here, or its content."""
    path = f"/drives/{_graph_id(drive_id)}/items/{_graph_id(item_id)}"
    try:
        # Unselected, the item carries its short-lived @microsoft.graph.downloadUrl.
        item = client.get(token, path)
    except GraphNotFound as missing:
        raise Missing("item", missing.request_id) from None
    if "root" in item:
        return ItemTarget(folder_path="")
    if "folder" in item:
        parent = str((item.get("parentReference") or {}).get("path") or "")
        # "/drives/{id}/root:/a/b" (percent-encoded), or "/drive/root:" at the top.
        inside = unquote(parent.partition("root:")[2]).strip("/")
        names = [*(n for n in inside.split("/") if n), str(item.get("name") or "")]
        if "root:" in parent and all(names) and not any(n in (".", "..") for n in names):
            return ItemTarget(folder_path="/".join(names))
    return ItemTarget(
        download_url=safe_link(item.get("@microsoft.graph.downloadUrl")),
        web_url=safe_link(item.get("webUrl")),
    )


def search_files(client: GraphClient, token: str, query: str, start: int = 0) -> FileSearchResults:
    """Files the user can open anywhere, matching `query`; `start` is the first hit's index."""
    query = query.strip()[: MAX_QUERY_LENGTH * 2]
    start = start if 0 <= start < SEARCH_MAX_FROM else 0
    if not query:
        return FileSearchResults(hits=[], start=start)
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
    result = client.post_query(token, "/search/query", body)
    hits: list[DriveItem] = []
    total, more = 0, False
    for answer in result.get("value") or []:
        for container in answer.get("hitsContainers") or []:
            hits += [_search_hit(hit.get("resource") or {}) for hit in container.get("hits") or []]
            total = max(total, int(container.get("total") or 0))
            more = more or bool(container.get("moreResultsAvailable"))
    next_start = start + SEARCH_PAGE_SIZE
    previous_start = start - SEARCH_PAGE_SIZE
    return FileSearchResults(
        hits=hits,
        total=total,
        start=start,
        number=start // SEARCH_PAGE_SIZE + 1,
        next_cursor=str(next_start) if more and next_start < SEARCH_MAX_FROM else None,
        previous_cursor=str(previous_start) if previous_start > 0 else None,
    )


def sites(
    client: GraphClient, token: str, query: str = "", cursor: str | None = None
) -> ResultPage[Site]:
    """SharePoint sites whose name matches `query` (all sites when it is empty)."""
    term = query.strip()[:MAX_QUERY_LENGTH]
    params = {"search": term or "*", "$top": FILES_PAGE_SIZE}
    page, position = _page(client, token, "/sites", params, cursor)
    found = [
        Site(str(item["id"]), item.get("displayName") or item.get("name"), item.get("description"))
        for item in page.items
        if item.get("id")
    ]
    return _result(found, page, position)


def site(client: GraphClient, token: str, site_id: str) -> SiteLibraries:
    """A SharePoint site and its document libraries."""
    # One call: the site with its libraries expanded. No $select beside it: together
    # with $expand=drives it is reported to drop properties.
    path = f"/sites/{_graph_id(site_id)}"
    try:
        found = client.get(token, path, params={"$expand": "drives"})
    except GraphNotFound as missing:
        raise Missing("site", missing.request_id) from None
    libraries = [_library(drive) for drive in found.get("drives") or [] if isinstance(drive, dict)]
    return SiteLibraries(found.get("displayName"), found.get("description"), libraries)


# -- shared ---------------------------------------------------------------------------


def safe_link(url: object) -> str | None:
    """Only http(s) links from Graph data reach an href; never javascript: and friends."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _graph_id(value: str) -> str:
    """A Graph id from the URL; it goes into a Graph path, so nothing that could traverse."""
    if not _GRAPH_ID.match(value):
        raise InvalidReference("not a Graph id")
    return value


def _page(
    client: GraphClient,
    token: str,
    path: str,
    params: dict,
    cursor: str | None,
    headers: dict | None = None,
) -> tuple[Page, Position]:
    """The first page of `path`, or the one a cursor from a page link names."""
    request, position = _page_request(client, path, params, cursor, headers)
    return client.get_page(token, request), position


def _page_request(
    client: GraphClient,
    path: str,
    params: dict,
    cursor: str | None,
    headers: dict | None = None,
) -> tuple[GetRequest, Position]:
    """The request for the first page of `path`, or the one a page link's cursor names."""
    try:
        position = Position.parse(cursor)
    except BadPosition as exc:
        raise InvalidCursor(str(exc)) from None
    last = position.cursors[-1] if position.cursors else None
    try:
        request = client.page_request(path, params=params, headers=headers, cursor=last)
    except ValueError as exc:  # a cursor the client did not make for this collection
        raise InvalidCursor(str(exc)) from None
    return request, position


def _result(items: list[T], page: Page, position: Position) -> ResultPage[T]:
    """A page of view models, with cursors for the pages before and after it."""
    following = position.forward(page.next_cursor).encode() if page.next_cursor else None
    return ResultPage(items, following, position.back().encode(), position.number)


def _folder_names(folder_path: str) -> list[str]:
    names = [part for part in folder_path.split("/") if part]
    if any(name in (".", "..") for name in names):
        raise InvalidReference("folder path with dot segments")
    return names


def _children_path(drive: str, names: list[str]) -> str:
    # Path-based addressing: the app's URL mirrors the folder path, so breadcrumbs need no call.
    if not names:
        return f"{drive}/root/children"
    return f"{drive}/root:/" + "/".join(quote(n, safe="") for n in names) + ":/children"


def _library(drive: dict) -> Library:
    owner = drive.get("owner")
    who = (owner.get("user") or owner.get("group")) if isinstance(owner, dict) else None
    return Library(
        drive.get("name"),
        drive.get("description"),
        safe_link(drive.get("webUrl")),
        id=_id_or_none(drive.get("id")),
        owner=who.get("displayName") if isinstance(who, dict) else None,
    )


def _person(item: dict) -> Person:
    full_name = " ".join(n for n in (item.get("givenName"), item.get("surname")) if n)
    return Person(
        id=str(item.get("id") or ""),
        display_name=item.get("displayName") or full_name or None,
        mail=item.get("mail"),
        user_principal_name=item.get("userPrincipalName"),
    )


def _drive_item(item: dict, parent: list[str], drive_id: str | None = None) -> DriveItem:
    is_folder = "folder" in item
    name = item.get("name") or ""
    return DriveItem(
        name=name or "(no name)",
        is_folder=is_folder,
        size=item.get("size"),
        modified=_modified(item),
        web_url=safe_link(item.get("webUrl")),
        download_url=safe_link(item.get("@microsoft.graph.downloadUrl")),
        child_count=(item.get("folder") or {}).get("childCount"),
        folder_path="/".join([*parent, name]) if is_folder and name else None,
        drive_id=drive_id,
        item_id=_id_or_none(item.get("id")),
    )


def _search_hit(item: dict) -> DriveItem:
    """A search hit: where it lives from its address, and opened through the app by id."""
    name = item.get("name") or ""
    parent = item.get("parentReference") or {}
    is_folder = _looks_like_folder(item)
    # SharePoint pages (.aspx) come back as driveItems too: pages to open, not files.
    openable = is_folder or not name.lower().endswith(".aspx")
    drive_id = _id_or_none(parent.get("driveId"))
    item_id = _id_or_none(item.get("id"))
    return DriveItem(
        name=name or "(no name)",
        is_folder=is_folder,
        size=None if is_folder else item.get("size"),
        modified=_modified(item),
        web_url=safe_link(item.get("webUrl")),
        drive_id=drive_id if openable and item_id else None,
        item_id=item_id if openable and drive_id else None,
        location=_location(safe_link(item.get("webUrl")), parent.get("siteId")),
    )


def _modified(item: dict) -> str:
    """When an item last changed, as "2024-05-01 10:20" (search hits may carry it only in
    fileSystemInfo)."""
    stamp = item.get("lastModifiedDateTime") or (item.get("fileSystemInfo") or {}).get(
        "lastModifiedDateTime"
    )
    return str(stamp or "")[:16].replace("T", " ")


def _looks_like_folder(item: dict) -> bool:
    """Search hits carry no file or folder facet (the docs' example shows none), so a hit
    with neither whose name has no extension is taken for a folder; opening it checks."""
    if "folder" in item:
        return True
    if "file" in item or "package" in item:
        return False
    return not PurePosixPath(str(item.get("name") or "")).suffix


def _location(web_url: str | None, site_id: object) -> ItemLocation | None:
    """Where an item lives, from its address: no Graph call per hit."""
    if not web_url:
        return None
    parts = urlsplit(web_url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    # The last segment is the item itself; but Office documents may open through the
    # site's _layouts/15/Doc.aspx, and then only the site shows.
    segments = segments[: segments.index("_layouts") if "_layouts" in segments else -1]
    host = parts.hostname or ""
    if host.endswith("-my.sharepoint.com") or segments[:1] == ["personal"]:
        # /personal/<alias>/Documents/...: a OneDrive's files are its Documents library.
        return ItemLocation("OneDrive", tuple(segments[3:]))
    site = _id_or_none(site_id)
    if len(segments) >= 2 and segments[0] in ("sites", "teams"):
        return ItemLocation(segments[1], tuple(segments[2:]), site)
    return ItemLocation(host, tuple(segments), site) if host else None


def _id_or_none(value: object) -> str | None:
    """A Graph id from Graph's data, if it is one we could put into a path."""
    return value if isinstance(value, str) and _GRAPH_ID.match(value) else None
