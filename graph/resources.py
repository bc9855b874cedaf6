"""What each page asks Microsoft Graph for, and what it makes of the answer.

One function per thing a page shows. Each takes the client and the user's token, owns
the paths, OData options, headers, request bodies and JSON field names it needs, checks
the ids and links that come from a URL or from Graph, and returns view models.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .client import GraphAccessDenied, GraphClient, GraphNotFound, Page
from .models import (
    DirectoryRole,
    Domain,
    DriveItem,
    FileSearchResults,
    Group,
    GroupMembers,
    Library,
    Organization,
    Person,
    Photo,
    Profile,
    ResultPage,
    Site,
    SiteLibraries,
)

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
    """A "more" cursor that this app did not make (a 400)."""


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


def photo(client: GraphClient, token: str, user_id: str) -> Photo | None:
    """The user's photo ("me" for the signed-in user), or None when there is none to show."""
    path = "/me/photo/$value" if user_id == "me" else f"/users/{_graph_id(user_id)}/photo/$value"
    try:
        found = client.get_bytes(token, path)
    except GraphAccessDenied:
        return None  # a photo this user may not see is no photo, not an error page

    if found is None:
        return None
    data, content_type = found
    content_type = content_type.split(";", 1)[0].strip().lower()
    if not _RASTER_IMAGE.match(content_type):
        return None
    return Photo(data=data, content_type=content_type)


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
    page = _page(client, token, "/users", params, cursor, headers)
    return ResultPage([_person(item) for item in page.items], page.next_cursor)


def my_groups(client: GraphClient, token: str, cursor: str | None = None) -> ResultPage[Group]:
    page = _page(
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
    return ResultPage(groups, page.next_cursor)


def group(
    client: GraphClient, token: str, group_id: str, cursor: str | None = None
) -> GroupMembers:
    """A group's name and one page of its members."""
    path = f"/groups/{_graph_id(group_id)}"
    # Two calls: Graph returns a group's pageable member list only from /members,
    # and $expand=members stops at 20 members without a next link.
    found = client.get(token, path, params={"$select": "displayName"})
    page = _page(
        client,
        token,
        f"{path}/members",
        {"$select": PERSON_SELECT, "$top": PEOPLE_PAGE_SIZE},
        cursor,
    )
    members = ResultPage([_person(item) for item in page.items], page.next_cursor)
    return GroupMembers(display_name=found.get("displayName"), members=members)


def organization(client: GraphClient, token: str) -> Organization:
    """The user's organization and the directory roles they hold."""
    # Two calls: the organization and the user's roles are separate Graph resources.
    orgs = client.page(token, "/organization", params={"$top": None})
    roles = client.page(
        token,
        "/me/memberOf/microsoft.graph.directoryRole",
        params={"$select": "id,displayName,description", "$top": None},
    )
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
    names = [part for part in folder_path.split("/") if part]
    if any(name in (".", "..") for name in names):
        raise InvalidReference("folder path with dot segments")
    # Path-based addressing: the app's URL mirrors the folder path, so breadcrumbs need no call.
    path = "/me/drive/root/children"
    if names:
        path = "/me/drive/root:/" + "/".join(quote(n, safe="") for n in names) + ":/children"
    try:
        page = _page(client, token, path, {"$top": FILES_PAGE_SIZE}, cursor)
    except GraphNotFound as missing:
        # Graph's answer when the user has no OneDrive: 404 "User's mysite not found".
        if missing.code == "ResourceNotFound" and "mysite" in missing.message.lower():
            raise NoDrive() from None
        raise
    return ResultPage([_drive_item(item, names) for item in page.items], page.next_cursor)


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
            hits += [
                _drive_item(hit.get("resource") or {}, None) for hit in container.get("hits") or []
            ]
            total = max(total, int(container.get("total") or 0))
            more = more or bool(container.get("moreResultsAvailable"))
    next_start = start + SEARCH_PAGE_SIZE
    return FileSearchResults(
        hits=hits,
        total=total,
        start=start,
        next_start=next_start if more and next_start < SEARCH_MAX_FROM else None,
    )


def sites(
    client: GraphClient, token: str, query: str = "", cursor: str | None = None
) -> ResultPage[Site]:
    """SharePoint sites whose name matches `query` (all sites when it is empty)."""
    term = query.strip()[:MAX_QUERY_LENGTH]
    page = _page(client, token, "/sites", {"search": term or "*", "$top": FILES_PAGE_SIZE}, cursor)
    found = [
        Site(str(item["id"]), item.get("displayName") or item.get("name"), item.get("description"))
        for item in page.items
        if item.get("id")
    ]
    return ResultPage(found, page.next_cursor)


def site(client: GraphClient, token: str, site_id: str) -> SiteLibraries:
    """A SharePoint site and its document libraries."""
    # One call: the site with its libraries expanded. No $select beside it: together
    # with $expand=drives it is reported to drop properties.
    found = client.get(token, f"/sites/{_graph_id(site_id)}", params={"$expand": "drives"})
    libraries = [
        Library(drive.get("name"), drive.get("description"), safe_link(drive.get("webUrl")))
        for drive in found.get("drives") or []
        if isinstance(drive, dict)
    ]
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
) -> Page:
    """The first page of `path`, or the one a cursor from an earlier page names."""
    if not cursor:
        return client.page(token, path, params=params, headers=headers)
    try:
        return client.next_page(token, path, cursor, headers=headers)
    except ValueError as exc:  # a cursor the client did not make for this collection
        raise InvalidCursor(str(exc)) from None


def _person(item: dict) -> Person:
    full_name = " ".join(n for n in (item.get("givenName"), item.get("surname")) if n)
    return Person(
        id=str(item.get("id") or ""),
        display_name=item.get("displayName") or full_name or None,
        mail=item.get("mail"),
        user_principal_name=item.get("userPrincipalName"),
    )


def _drive_item(item: dict, parent: list[str] | None) -> DriveItem:
    is_folder = "folder" in item
    name = item.get("name") or ""
    return DriveItem(
        name=name or "(no name)",
        is_folder=is_folder,
        size=item.get("size"),
        # Search hits may carry the date only in fileSystemInfo.
        modified=(
            item.get("lastModifiedDateTime")
            or (item.get("fileSystemInfo") or {}).get("lastModifiedDateTime")
            or ""
        )[:16].replace("T", " "),
        web_url=safe_link(item.get("webUrl")),
        download_url=safe_link(item.get("@microsoft.graph.downloadUrl")),
        child_count=(item.get("folder") or {}).get("childCount"),
        folder_path="/".join([*parent, name])
        if is_folder and parent is not None and name
        else None,
    )
